import { useEffect, useState } from 'react';
import { apiUrl, getJson } from '../api';

type State =
  | { kind: 'loading' }
  | { kind: 'ok'; body: unknown; ms: number }
  | { kind: 'error'; message: string };

interface Props {
  /** The API path to fetch, e.g. `/health`. */
  path: string;
  /** Called by the "Check again" button. */
  onRetry: () => void;
}

/** What to show of an answer: its `status` field when it has one, else the whole JSON. */
function summary(body: unknown): string {
  if (body && typeof body === 'object' && 'status' in body) {
    return String((body as { status: unknown }).status);
  }
  return JSON.stringify(body);
}

/** Fetches `path` from the API once when mounted and shows loading, the answer or the error. */
export default function ApiStatus({ path, onRetry }: Props) {
  const [state, setState] = useState<State>({ kind: 'loading' });

  useEffect(() => {
    const controller = new AbortController();
    const started = performance.now();
    getJson(path, controller.signal)
      .then((body) => setState({ kind: 'ok', body, ms: Math.round(performance.now() - started) }))
      .catch((error: unknown) => {
        if (controller.signal.aborted) return; // unmounted: nobody to tell
        setState({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
      });
    return () => controller.abort();
  }, [path]);

  return (
    <section className={`api-status ${state.kind}`} aria-live="polite" aria-busy={state.kind === 'loading'}>
      <h2>API</h2>
      <p className="endpoint">
        <code>GET {apiUrl(path)}</code>
      </p>
      {state.kind === 'loading' && <p>Loading…</p>}
      {state.kind === 'ok' && (
        <>
          <p>
            <strong>{summary(state.body)}</strong> in {state.ms} ms
          </p>
          <pre>{JSON.stringify(state.body, null, 2)}</pre>
        </>
      )}
      {state.kind === 'error' && (
        <p role="alert">
          <strong>Unavailable:</strong> {state.message}
        </p>
      )}
      <button type="button" onClick={onRetry} disabled={state.kind === 'loading'}>
        Check again
      </button>
    </section>
  );
}
