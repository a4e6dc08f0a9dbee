import { ApiError, type ApiRoute, AppError, type ErrorCode, type RouteName, routes } from '@agentpod/contracts';
import type { z } from 'zod';

/*
 * Requests built from the route table in contracts, and answers read back: the same zod schemas the gateway
 * validates with check the arguments here first, so a bad argument fails before anything is sent. Pure (no I/O
 * but reading a Response), so it is unit-tested directly.
 */

type Routes = typeof routes;

/** Input values as the CLI has them: enum members and numbers may still be plain strings until validated. */
type Loose<T> = T extends string
  ? string
  : T extends number
    ? number | string
    : T extends boolean
      ? boolean
      : T extends readonly unknown[]
        ? T
        : T extends object
          ? { [K in keyof T]: Loose<T[K]> }
          : T;

type Part<N extends RouteName, K extends 'params' | 'query' | 'body'> =
  Routes[N] extends Record<K, infer S extends z.ZodType> ? Loose<z.input<S>> : never;

export type RouteInput<N extends RouteName> = ([Part<N, 'params'>] extends [never]
  ? { params?: never }
  : { params: Part<N, 'params'> }) &
  ([Part<N, 'query'>] extends [never] ? { query?: never } : { query?: Part<N, 'query'> }) &
  ([Part<N, 'body'>] extends [never] ? { body?: never } : { body: Part<N, 'body'> });

export type RouteOutput<N extends RouteName> = Routes[N] extends { response: infer S extends z.ZodType }
  ? z.output<S>
  : undefined;

export type InputArgs<N extends RouteName> =
  object extends RouteInput<N> ? [input?: RouteInput<N>] : [input: RouteInput<N>];

export type CallOptions = {
  /** Extra request headers (the bootstrap secret). */
  headers?: Record<string, string>;
  /** Replaces the client's timeout; null waits for as long as it takes (following a stream until Ctrl-C). */
  timeoutMs?: number | null;
  /** How a field is called on the command line, for error messages (`expiresIn` → `--expires`). */
  labels?: Record<string, string>;
  /** A streamed request body (file uploads), sent instead of a JSON body; `length` becomes content-length. */
  stream?: { body: ReadableStream<Uint8Array>; contentType: string; length?: number };
};

export type BuiltRequest = { method: ApiRoute['method']; url: URL; body: string | undefined };

export type AnyInput = { params?: object; query?: object; body?: unknown };

/** Resolves a route path under the base URL, which may carry a path prefix (`https://host/agentpod`). */
export function joinUrl(baseUrl: string, path: string): URL {
  const url = new URL(baseUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  url.search = '';
  url.hash = '';
  return url;
}

function validate<T extends z.ZodType>(schema: T, value: unknown, labels: Record<string, string>): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  const label = labels[path] ?? (path || 'argument');
  throw new AppError('invalid', `invalid ${label}: ${issue?.message ?? 'does not match the schema'}`, {
    details: parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  });
}

/**
 * Validates the input of a route and builds its request: path parameters substituted and URL-encoded, the query
 * and body as the schemas output them (defaults applied, emails lower-cased). Pure, so it is unit-tested.
 */
export function buildRequest(
  name: RouteName,
  input: AnyInput,
  baseUrl: string,
  labels: Record<string, string> = {},
): BuiltRequest {
  const route: ApiRoute = routes[name];
  const params: Record<string, unknown> = route.params ? validate(route.params, input.params ?? {}, labels) : {};
  const path = route.path.replace(/:([A-Za-z]+)/g, (_, key: string) => {
    const value = params[key];
    if (value === undefined) throw new AppError('internal', `route ${name} has no value for :${key}`);
    return encodeURIComponent(String(value));
  });
  const url = joinUrl(baseUrl, path);
  if (route.query) {
    const query: Record<string, unknown> = validate(route.query, input.query ?? {}, labels);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
  } else if (input.query !== undefined) {
    throw new AppError('internal', `route ${name} takes no query`);
  }
  let body: string | undefined;
  if (route.body) body = JSON.stringify(validate(route.body, input.body ?? {}, labels));
  else if (input.body !== undefined) throw new AppError('internal', `route ${name} takes no body`);
  return { method: route.method, url, body };
}

const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'invalid',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'invalid',
  429: 'rate_limited',
  502: 'unavailable',
  503: 'unavailable',
  504: 'timeout',
};

/** Turns an error response into an AppError: the gateway's `{ error }` when it sent one, else the status. */
export async function errorFromResponse(response: Response, request: BuiltRequest): Promise<AppError> {
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const parsed = ApiError.safeParse(body);
  const retryAfter = response.headers.get('retry-after');
  const suffix = response.status === 429 && retryAfter ? ` (retry after ${retryAfter}s)` : '';
  if (parsed.success) {
    const { code, message, details } = parsed.data.error;
    return new AppError(code, `${message}${suffix}`, { details });
  }
  const code = STATUS_CODES[response.status] ?? 'internal';
  const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  return new AppError(code, `the gateway answered ${status} to ${request.method} ${request.url.pathname}${suffix}`);
}
