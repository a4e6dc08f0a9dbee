import { type ApiRoute, AppError, CSRF_HEADER, type RouteName, routes } from '@agentpod/contracts';
import type { CookieJar } from './cookies.ts';
import {
  type AnyInput,
  type BuiltRequest,
  buildRequest,
  type CallOptions,
  errorFromResponse,
  type InputArgs,
  joinUrl,
  type RouteOutput,
} from './request.ts';

/*
 * The CLI's HTTP client, typed by the route table: `call('getTenant', { params: { tenant } })` validates, sends
 * with the bearer token, turns an error answer into an AppError and checks a success answer against the route's
 * response schema, so a gateway that drifted from the contracts is reported instead of misprinted.
 */

export type ClientOptions = {
  baseUrl: string;
  token?: string | undefined;
  cookies?: CookieJar;
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** Aborts every request of this client (Ctrl-C). */
  interrupt?: AbortSignal;
};

function describeCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

export class ApiClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;
  readonly #cookies: CookieJar | undefined;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #interrupt: AbortSignal | undefined;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl;
    this.#token = options.token;
    this.#cookies = options.cookies;
    this.#fetch = options.fetch ?? fetch;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#interrupt = options.interrupt;
  }

  #signal(timeoutMs: number | null = this.#timeoutMs): AbortSignal | undefined {
    const signals = [this.#interrupt, timeoutMs === null ? undefined : AbortSignal.timeout(timeoutMs)];
    const present = signals.filter((signal) => signal !== undefined);
    return present.length === 0 ? undefined : AbortSignal.any(present);
  }

  get hasCredential(): boolean {
    return this.#token !== undefined || this.#cookies?.hasSession === true;
  }

  /** Calls a route and returns its validated response (undefined for routes that answer nothing). */
  async call<N extends RouteName>(name: N, ...args: [...InputArgs<N>, options?: CallOptions]): Promise<RouteOutput<N>> {
    const [input, options] = args as unknown as [AnyInput | undefined, CallOptions | undefined];
    const { response, request } = await this.#send(name, input ?? {}, options ?? {});
    const route: ApiRoute = routes[name];
    if (!route.response || response.status === 204) return undefined as RouteOutput<N>;
    let json: unknown;
    try {
      json = await response.json();
    } catch {
      throw new AppError('internal', `the gateway answered ${request.method} ${request.url.pathname} with no JSON`);
    }
    const parsed = route.response.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.map(String).join('.') || '(root)';
      throw new AppError(
        'internal',
        `unexpected answer to ${request.method} ${request.url.pathname}: ${where}: ${issue?.message ?? 'invalid'}`,
      );
    }
    return parsed.data as RouteOutput<N>;
  }

  /** Calls a route and hands back the response itself (a stream), once it is known not to be an error. */
  async open<N extends RouteName>(name: N, ...args: [...InputArgs<N>, options?: CallOptions]): Promise<Response> {
    const [input, options] = args as unknown as [AnyInput | undefined, CallOptions | undefined];
    return (await this.#send(name, input ?? {}, options ?? {})).response;
  }

  /** A GET outside the route table (`/healthz`), answered whatever its status. */
  async get(path: string): Promise<Response> {
    const request: BuiltRequest = { method: 'GET', url: joinUrl(this.baseUrl, path), body: undefined };
    return this.#fetchOrExplain(request, { accept: 'application/json' }, this.#signal());
  }

  async #send(
    name: RouteName,
    input: AnyInput,
    options: CallOptions,
  ): Promise<{ response: Response; request: BuiltRequest }> {
    const request = buildRequest(name, input, this.baseUrl, options.labels);
    const route: ApiRoute = routes[name];
    if (route.access !== 'public' && !this.hasCredential) {
      throw new AppError(
        'unauthenticated',
        `not signed in to ${this.baseUrl}: run agentpod login or set AGENTPOD_TOKEN`,
      );
    }
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    if (options.stream) {
      headers['content-type'] = options.stream.contentType;
      if (options.stream.length !== undefined) headers['content-length'] = String(options.stream.length);
    }
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    const cookie = this.#cookies?.header();
    if (cookie !== undefined) headers.cookie = cookie;
    const csrf = this.#cookies?.get('agentpod_csrf');
    if (request.method !== 'GET' && csrf !== undefined) headers[CSRF_HEADER] = csrf;
    const response = await this.#fetchOrExplain(
      request,
      headers,
      this.#signal(options.timeoutMs),
      options.stream?.body,
    );
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      const location = response.headers.get('location') ?? 'elsewhere';
      throw new AppError(
        'unavailable',
        `the gateway at ${this.baseUrl} redirected to ${location}; set AGENTPOD_URL to the address it serves`,
      );
    }
    if (!response.ok) throw await errorFromResponse(response, request);
    return { response, request };
  }

  async #fetchOrExplain(
    request: BuiltRequest,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
    stream?: ReadableStream<Uint8Array>,
  ) {
    let response: Response;
    try {
      response = await this.#fetch(request.url, {
        method: request.method,
        headers,
        // A stream is sent as it is read (half duplex: the answer comes after the whole body).
        ...(stream ? { body: stream, duplex: 'half' } : { body: request.body }),
        signal,
        // A redirect is reported, not followed: following could carry the token to another origin.
        redirect: 'manual',
      });
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') {
        throw new AppError('timeout', `the gateway at ${request.url.origin} did not answer in time`);
      }
      if ((error as Error).name === 'AbortError') throw error;
      throw new AppError('unavailable', `cannot reach the gateway at ${request.url.origin}: ${describeCause(error)}`, {
        cause: error,
      });
    }
    this.#cookies?.absorb(response.headers.getSetCookie());
    return response;
  }
}
