import {
  AppError,
  ErrorBody,
  TERMINAL_CLOSE,
  TERMINAL_STREAM_BYTE,
  type TerminalClientMessage,
  TerminalServerMessage,
  type TerminalSize,
} from '@agentpod/contracts';
import WebSocket from 'ws';
import { errorFromResponse, joinUrl } from '../request.ts';

/*
 * The client end of the terminal WebSocket protocol (contracts/workspace.ts), without any terminal of its own:
 * the CLI's `pod exec` / `node shell` drive it from stdin/stdout (terminal-client.ts); the e2e tests and the
 * benchmarks drive it directly (they choose when to acknowledge output, which is how they pace a reader).
 *
 * The credential goes in the Authorization header of the upgrade, never in the URL. A refused upgrade rejects
 * `open` with the gateway's own error (404, 403…).
 */

const HANDSHAKE_TIMEOUT_MS = 30_000;
/** Frames from the gateway are at most a chunk of output; anything far larger is not the protocol. */
const MAX_FRAME_BYTES = 1024 * 1024;

export type OutputStream = keyof typeof TERMINAL_STREAM_BYTE;

/** How a session ended: the command's exit, or an error, and the socket's close code either way. */
export type TerminalEnd = {
  exit: { code: number | null; signal?: string | undefined } | undefined;
  error: AppError | undefined;
  closeCode: number;
  reason: string;
};

export type TerminalSocketOptions = {
  /** The gateway, e.g. `http://127.0.0.1:8080` (a path prefix is kept). */
  baseUrl: string;
  /** `/api/v1/tenants/<t>/pods/<p>/terminal` or `/api/v1/nodes/<n>/terminal`, encoded. */
  path: string;
  token: string | undefined;
  /** Aborting it drops the connection (Ctrl-C while connecting). */
  signal?: AbortSignal;
};

/** ws(s):// URL of a path under the gateway's base URL (which may carry a path prefix). */
export function socketUrl(baseUrl: string, path: string): URL {
  const url = joinUrl(baseUrl, path);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url;
}

/** Why the gateway closed the socket, when it said no more (no `exit`, no `error`). */
export function closeError(code: number, reason: string): AppError {
  const why = reason ? `: ${reason}` : '';
  switch (code) {
    case TERMINAL_CLOSE.accessLost:
      return new AppError('forbidden', `the terminal was closed: your access to it ended${why}`);
    case TERMINAL_CLOSE.idle:
      return new AppError('timeout', `the terminal was closed after being idle${why}`);
    case TERMINAL_CLOSE.agentGone:
      return new AppError('unavailable', `the node's agent ended the session or went away${why}`);
    case TERMINAL_CLOSE.protocol:
      return new AppError('internal', `the gateway refused a message of this client${why}`);
    default:
      return new AppError('unavailable', `the connection to the gateway was lost (close ${code}${why})`);
  }
}

async function connect(options: TerminalSocketOptions): Promise<WebSocket> {
  const { baseUrl, token, signal } = options;
  if (token === undefined) {
    throw new AppError('unauthenticated', `not signed in to ${baseUrl}: run agentpod login or set AGENTPOD_TOKEN`);
  }
  const url = socketUrl(baseUrl, options.path);
  const socket = new WebSocket(url, {
    headers: { authorization: `Bearer ${token}` },
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    maxPayload: MAX_FRAME_BYTES,
    perMessageDeflate: false,
    // A redirect could carry the token to another origin.
    followRedirects: false,
  });
  const abort = () => socket.terminate();
  signal?.addEventListener('abort', abort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('unexpected-response', (_request, response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const answer = new Response(Buffer.concat(chunks), {
            status: response.statusCode ?? 500,
            statusText: response.statusMessage ?? '',
          });
          // Settled before the socket is dropped, whose own 'error' would otherwise win the race.
          void errorFromResponse(answer, { method: 'GET', url, body: undefined })
            .then(reject, reject)
            .finally(() => socket.terminate());
        });
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        if (signal?.aborted) return reject(new AppError('unavailable', 'interrupted'));
        const what = error.code ?? error.message;
        reject(new AppError('unavailable', `cannot reach the gateway at ${baseUrl}: ${what}`, { cause: error }));
      });
    });
  } finally {
    signal?.removeEventListener('abort', abort);
  }
  return socket;
}

export class TerminalSocket {
  /** Resolves with the session id once the command runs; rejects when the session ends before. */
  readonly ready: Promise<string>;
  /** Resolves once the socket is closed, with how the session ended. Never rejects. */
  readonly ended: Promise<TerminalEnd>;
  readonly #socket: WebSocket;
  readonly #listeners = new Set<(bytes: Buffer, stream: OutputStream) => void>();
  #exit: TerminalEnd['exit'];
  #error: AppError | undefined;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    let readyResolve: (id: string) => void = () => {};
    let readyReject: (error: AppError) => void = () => {};
    this.ready = new Promise<string>((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    // Unhandled when nobody waits for it (a caller that only reads output): that is not a failure of its own.
    this.ready.catch(() => undefined);
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        const stream = data[0] === TERMINAL_STREAM_BYTE.stderr ? 'stderr' : 'stdout';
        const bytes = data.subarray(1);
        for (const listener of this.#listeners) listener(bytes, stream);
        return;
      }
      const message = this.#parse(data);
      switch (message?.t) {
        case undefined:
          this.#error = new AppError('internal', 'the gateway sent a terminal message this client does not understand');
          socket.close(TERMINAL_CLOSE.protocol);
          return;
        case 'ready':
          readyResolve(message.sessionId);
          return;
        case 'exit':
          this.#exit = { code: message.code, signal: message.signal };
          return;
        case 'error': {
          const body = ErrorBody.safeParse(message.error);
          this.#error = body.success ? new AppError(body.data.code, body.data.message) : closeError(0, '');
          return;
        }
        default: {
          const unknown: never = message;
          throw new Error(`unhandled terminal message ${String(unknown)}`);
        }
      }
    });
    socket.on('error', (error) => {
      this.#error ??= new AppError('unavailable', `the terminal connection broke: ${error.message}`);
    });
    this.ended = new Promise<TerminalEnd>((resolve) => {
      socket.on('close', (closeCode: number, reason: Buffer) => {
        const text = reason.toString('utf8');
        const end = { exit: this.#exit, error: this.#error, closeCode, reason: text };
        readyReject(this.#error ?? closeError(closeCode, text));
        resolve(end);
      });
    });
  }

  /** Connects; rejects with the gateway's error when it refuses the upgrade. Send `start` next. */
  static async open(options: TerminalSocketOptions): Promise<TerminalSocket> {
    return new TerminalSocket(await connect(options));
  }

  #parse(data: Buffer): TerminalServerMessage | undefined {
    try {
      const parsed = TerminalServerMessage.safeParse(JSON.parse(data.toString('utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  #send(message: TerminalClientMessage): void {
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(message));
  }

  /** Output as it arrives (a binary frame without its stream byte). */
  onOutput(listener: (bytes: Buffer, stream: OutputStream) => void): void {
    this.#listeners.add(listener);
  }

  get open(): boolean {
    return this.#socket.readyState === WebSocket.OPEN;
  }

  /** Input not yet handed to the network. */
  get bufferedAmount(): number {
    return this.#socket.bufferedAmount;
  }

  start(size: TerminalSize, options: { command?: readonly string[] | undefined; tty: boolean }): void {
    this.#send({
      t: 'start',
      ...size,
      ...(options.command ? { command: [...options.command] } : {}),
      tty: options.tty,
    });
  }

  /** Keystrokes or stdin bytes; `sent` once they are handed to the network. */
  input(bytes: Uint8Array, sent?: () => void): void {
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    this.#socket.send(bytes, { binary: true }, () => sent?.());
  }

  resize(size: TerminalSize): void {
    this.#send({ t: 'resize', ...size });
  }

  /** Acknowledges output consumed so far (cumulative bytes, stream bytes excluded). */
  ack(bytes: number): void {
    this.#send({ t: 'ack', bytes });
  }

  eof(): void {
    this.#send({ t: 'eof' });
  }

  /** Ends the session from this side (the remote process is hung up on). */
  close(code = 1000): void {
    if (this.#socket.readyState === WebSocket.OPEN || this.#socket.readyState === WebSocket.CONNECTING) {
      this.#socket.close(code);
    }
  }

  /** Drops the connection without a closing handshake. */
  terminate(): void {
    this.#socket.terminate();
  }
}
