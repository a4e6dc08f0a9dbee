import { ApiClient } from './client.ts';
import type { CookieJar } from './cookies.ts';
import { loadCredential, type SavedCredential, sameOrigin } from './credentials.ts';
import { type CliEnv, DEFAULT_URL } from './env.ts';
import type { Output, Writer } from './output.ts';

/** What the CLI touches of the outside world, passed in so tests and the real process differ only here. */
export type Io = {
  stdout: Writer;
  stderr: Writer;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  fetch: typeof fetch;
  /** Aborted when the user interrupts (Ctrl-C), so a stream being followed ends cleanly. */
  signal: AbortSignal;
};

export type Context = {
  env: CliEnv;
  io: Io;
  out: Output;
  /** Where requests go and with which token: AGENTPOD_URL / AGENTPOD_TOKEN, else the saved credential. */
  target(): Promise<Target>;
  /** A client for the target; `override` replaces its URL and credentials (login). */
  client(override?: { url?: string; token?: string | undefined; cookies?: CookieJar }): Promise<ApiClient>;
};

export type Target = {
  url: string;
  token: string | undefined;
  /** The saved credential, when the token in use is that one. */
  saved: SavedCredential | undefined;
};

/**
 * The URL is AGENTPOD_URL, else the saved one, else the default. The token is AGENTPOD_TOKEN, else the saved one,
 * but the saved token only goes to the origin it was saved for: pointing AGENTPOD_URL elsewhere must not hand
 * that server a credential for this one.
 */
export function resolveTarget(env: CliEnv, saved: SavedCredential | undefined): Target {
  const url = env.url ?? saved?.url ?? DEFAULT_URL;
  if (env.token !== undefined) return { url, token: env.token, saved: undefined };
  if (saved && sameOrigin(saved.url, url)) return { url, token: saved.token, saved };
  return { url, token: undefined, saved: undefined };
}

export function createContext(env: CliEnv, io: Io, out: Output): Context {
  let target: Promise<Target> | undefined;
  const context: Context = {
    env,
    io,
    out,
    target() {
      target ??= loadCredential(env.credentialsFile).then((saved) => resolveTarget(env, saved));
      return target;
    },
    async client(override = {}) {
      const resolved = override.url === undefined ? await context.target() : undefined;
      return new ApiClient({
        baseUrl: override.url ?? resolved?.url ?? DEFAULT_URL,
        token: 'token' in override ? override.token : resolved?.token,
        cookies: override.cookies,
        fetch: io.fetch,
        interrupt: io.signal,
      });
    },
  };
  return context;
}
