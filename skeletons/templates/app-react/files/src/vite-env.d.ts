/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The API base URL (e.g. https://api.example.com); read at build time. */
  readonly VITE_API_URL?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
