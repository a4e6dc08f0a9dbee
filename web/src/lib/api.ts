import { connection } from './connection.svelte.ts';

/*
 * The console's only way to the control plane besides the live socket: the same REST API the CLI uses
 * (`/api/v1`, contracts/src/api.ts). The session cookie travels by itself; every change carries the CSRF header
 * echoing the `agentpod_csrf` cookie (double submit). A request that cannot reach the gateway marks the control
 * plane unreachable (the layout shows the banner until the live socket is back).
 */

export const CSRF_COOKIE = 'agentpod_csrf';
export const CSRF_HEADER = 'x-agentpod-csrf';

/** An API error in the catalogue's words (`{ error: { code, message, details? } }`), with the HTTP status. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function cookie(name: string): string | undefined {
  const entry = document.cookie.split('; ').find((part) => part.startsWith(`${name}=`));
  return entry === undefined ? undefined : decodeURIComponent(entry.slice(name.length + 1));
}

/** Whether this browser holds a session at all (the CSRF cookie lives exactly as long as the session cookie). */
export const hasSessionCookie = (): boolean => cookie(CSRF_COOKIE) !== undefined;

type Listener = (error: ApiError) => void;
const unauthenticatedListeners = new Set<Listener>();
/** Called when any request answers 401: the session ended. */
export function onUnauthenticated(listener: Listener): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

export type RequestOptions = {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal;
  /** SvelteKit's fetch inside `load`, so requests are tracked as the page's dependencies. */
  fetch?: typeof fetch;
};

export function apiUrl(path: string, query: RequestOptions['query'] = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query))
    if (value !== undefined && value !== '') params.set(key, String(value));
  const search = params.toString();
  return `/api/v1${path}${search ? `?${search}` : ''}`;
}

/** Sends a request; resolves to the JSON body (undefined for 204), throws ApiError for anything else. */
export async function api<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') {
    const csrf = cookie(CSRF_COOKIE);
    if (csrf) headers[CSRF_HEADER] = csrf;
  }
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(apiUrl(path, options.query), {
      method,
      headers,
      credentials: 'same-origin',
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    connection.unreachable();
    throw new ApiError(0, 'unavailable', 'The control plane cannot be reached.');
  }
  if (response.status === 502) connection.unreachable();
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.ok) return body as T;
  const error = (body as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
  const failure = new ApiError(
    response.status,
    error?.code ?? 'internal',
    error?.message ?? `The server answered ${response.status}.`,
    error?.details,
  );
  if (response.status === 401) for (const listener of unauthenticatedListeners) listener(failure);
  throw failure;
}

/** A message for people from anything thrown. */
export const messageOf = (error: unknown): string =>
  error instanceof ApiError ? error.message : error instanceof Error ? error.message : String(error);
