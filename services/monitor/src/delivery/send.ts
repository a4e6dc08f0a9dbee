import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { guardedLookup, hostOf, nonPublicKind } from '../webhook/target.ts';

/** What one POST came to: the answer's status, or why there was none; how long it took either way. */
export type PostResult = { statusCode: number | null; error: string | null; durationMs: number };

export type PostOptions = {
  timeoutMs: number;
  allowPrivate: boolean;
  /** Aborts the request when the sender stops. */
  signal: AbortSignal;
};

const DESCRIPTIONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host did not resolve (temporary DNS failure)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate is for another host',
};

function describe(error: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `no answer within ${timeoutMs / 1000} s`;
  const { code, message } = error as { code?: string; message?: string };
  if (code === 'EREFUSEDADDRESS') return message ?? 'address refused';
  const known = code ? DESCRIPTIONS[code] : undefined;
  const text = known ? `${known} (${code})` : (message ?? String(error));
  return text.slice(0, 1_024);
}

/**
 * POSTs `body` to `url` and reports the answer's status. Redirects are not followed (a 3xx is the answer), the
 * answer's body is read and discarded, and the whole exchange, connection included, has `timeoutMs`. Never
 * throws: a failure is a result, to be logged like any other attempt.
 */
export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: PostOptions,
): Promise<PostResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const target = new URL(url);
  const host = hostOf(target);
  // A literal address never goes through the lookup, so it is judged here.
  const kind = !options.allowPrivate && isIP(host) !== 0 ? nonPublicKind(host) : undefined;
  if (kind) {
    return { statusCode: null, error: `${host} is a ${kind} address; private targets are not allowed`, durationMs: 0 };
  }
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = AbortSignal.any([timeout, options.signal]);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const lookup = guardedLookup(options.allowPrivate);
  return new Promise<PostResult>((resolve) => {
    let settled = false;
    const settle = (result: Omit<PostResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      resolve({ ...result, durationMs: elapsed() });
    };
    const request = send(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        signal,
        ...(lookup ? { lookup } : {}),
      },
      (response) => {
        // The status is the answer; the body is drained so the socket is freed, and not kept.
        response.resume();
        response.on('error', () => {});
        settle({ statusCode: response.statusCode ?? null, error: null });
      },
    );
    request.on('error', (error) =>
      settle({ statusCode: null, error: describe(error, timeout.aborted, options.timeoutMs) }),
    );
    request.end(body);
  });
}
