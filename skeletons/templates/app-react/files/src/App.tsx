import { useState } from 'react';
import ApiStatus from './components/ApiStatus.tsx';
import { config } from './config';
import './App.css';

export default function App() {
  // Bumping the key remounts the panel, so "Check again" runs a fresh request.
  const [checks, setChecks] = useState(0);

  return (
    <>
      <header className="app-header">
        <img src="/favicon.svg" alt="" width="32" height="32" />
        <h1>{config.title}</h1>
      </header>
      <main className="app-main">
        <p className="lead">{config.description}</p>
        <ApiStatus key={checks} path={config.healthPath} onRetry={() => setChecks((n) => n + 1)} />
        <p className="hint">
          Edit <code>src/App.tsx</code> and save: the page updates as you type. The API address comes
          from <code>VITE_API_URL</code> at build time (see <code>.env.example</code>).
        </p>
      </main>
    </>
  );
}
