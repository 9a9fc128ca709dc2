import { config } from './config';

/** An API call that did not give a successful JSON answer. */
export class ApiError extends Error {
  readonly status: number | undefined;

  constructor(message: string, status?: number) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/** The full URL of an API path (`/health` -> `http://localhost:8080/health`). */
export function apiUrl(path: string): string {
  return `${config.apiUrl}${path.startsWith('/') ? path : `/${path}`}`;
}

/**
 * GET an API path and parse its JSON answer. Throws ApiError when the API cannot be reached,
 * answers with an error status or with something that is not JSON; an aborted call rejects
 * with the AbortError of `signal`.
 */
export async function getJson<T = unknown>(path: string, signal?: AbortSignal): Promise<T> {
  const url = apiUrl(path);
  let response: Response;
  try {
    response = await fetch(url, { headers: { Accept: 'application/json' }, signal });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(`cannot reach ${url}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!response.ok) {
    throw new ApiError(`${url} answered ${response.status} ${response.statusText}`.trim(), response.status);
  }
  try {
    return (await response.json()) as T;
  } catch {
    throw new ApiError(`${url} did not answer with JSON`, response.status);
  }
}
