import {
  TERMINAL_CLOSE,
  TERMINAL_STREAM_BYTE,
  type TerminalClientMessage,
  type TerminalSize,
} from '@agentpod/contracts';
import { ACK_IDLE_MS, AckCounter } from './ack.ts';
import { readServerMessage } from './server-message.ts';

/*
 * One terminal WebSocket (contracts/src/workspace.ts, "The terminal WebSocket"), independent of xterm so it can be
 * tested against a real socket server: `start` once open, binary frames out (keystrokes) and in (output, first
 * byte the stream), `resize`, and the credit window's acks driven by the sink's write callbacks (ack.ts).
 */

/** Where output goes: xterm's `write(data, callback)`; `done` fires once the terminal has processed `data`. */
export type TerminalSink = { write(data: Uint8Array, done: () => void): void };

export type TerminalEnd = {
  /** The socket's close code (1006 when it broke off or was refused before opening). */
  code: number;
  /** The process's exit, when it exited. */
  exit?: { code: number | null; signal?: string };
  /** The last error the gateway sent, if any. */
  error?: { code: string; message: string };
  /** Whether the socket ever opened (a refusal before the upgrade never does). */
  opened: boolean;
  /** What happened, for people. */
  explanation: string;
};

export type TerminalEvents = {
  onReady?: (sessionId: string) => void;
  onEnd?: (end: TerminalEnd) => void;
};

export type TerminalConnectionOptions = {
  url: string;
  size: TerminalSize;
  sink: TerminalSink;
  command?: string[];
  events?: TerminalEvents;
  /** The socket; a browser WebSocket by default (the same interface in Node ≥ 22). */
  createSocket?: (url: string) => WebSocket;
  /**
   * Why a socket that never opened was refused: the gateway refuses before the upgrade with the API's JSON error,
   * which browsers hide from WebSocket code. By default the same path is asked once over plain HTTP.
   */
  explainRefusal?: (url: string) => Promise<string | undefined>;
};

export type TerminalPhase = 'connecting' | 'starting' | 'ready' | 'ended';

export class TerminalConnection {
  readonly #socket: WebSocket;
  readonly #sink: TerminalSink;
  readonly #events: TerminalEvents;
  readonly #acks = new AckCounter();
  readonly #encoder = new TextEncoder();
  readonly #explainRefusal: (url: string) => Promise<string | undefined>;
  #phase: TerminalPhase = 'connecting';
  #size: TerminalSize;
  #ackTimer: ReturnType<typeof setTimeout> | undefined;
  #exit: TerminalEnd['exit'];
  #error: TerminalEnd['error'];
  #opened = false;

  constructor(readonly options: TerminalConnectionOptions) {
    this.#sink = options.sink;
    this.#events = options.events ?? {};
    this.#size = options.size;
    this.#explainRefusal = options.explainRefusal ?? explainOverHttp;
    this.#socket = (options.createSocket ?? ((url) => new WebSocket(url)))(options.url);
    this.#socket.binaryType = 'arraybuffer';
    this.#socket.onopen = () => this.#open();
    this.#socket.onmessage = (event) => this.#message(event.data as ArrayBuffer | string);
    this.#socket.onclose = (event) => void this.#closed(event.code);
    // An error is always followed by a close, which says what matters.
    this.#socket.onerror = () => undefined;
  }

  get phase(): TerminalPhase {
    return this.#phase;
  }
  /** Output bytes received / acknowledged so far (for tests and the status line). */
  get received(): number {
    return this.#acks.received;
  }
  get acknowledged(): number {
    return this.#acks.acked;
  }

  /** Sends keystrokes (or any input); false when the terminal is not running. */
  input(data: string | Uint8Array<ArrayBuffer>): boolean {
    if (this.#phase !== 'starting' && this.#phase !== 'ready') return false;
    this.#socket.send(typeof data === 'string' ? this.#encoder.encode(data) : data);
    return true;
  }

  /** The terminal's new size; sent at once when it changed (and carried by `start` before that). */
  resize(size: TerminalSize): void {
    if (size.cols === this.#size.cols && size.rows === this.#size.rows) return;
    this.#size = size;
    if (this.#phase === 'starting' || this.#phase === 'ready') this.#send({ t: 'resize', ...size });
  }

  /** Ends the session (the gateway tells the agent, which hangs up the process). */
  close(): void {
    clearTimeout(this.#ackTimer);
    if (this.#socket.readyState === WebSocket.CONNECTING || this.#socket.readyState === WebSocket.OPEN) {
      this.#socket.close(1000);
    }
  }

  #send(message: TerminalClientMessage): void {
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(message));
  }

  #open(): void {
    this.#opened = true;
    this.#phase = 'starting';
    const start: TerminalClientMessage = { t: 'start', ...this.#size, tty: true };
    if (this.options.command) start.command = this.options.command;
    this.#send(start);
  }

  #message(data: ArrayBuffer | string): void {
    if (typeof data !== 'string') {
      this.#output(new Uint8Array(data));
      return;
    }
    const message = readServerMessage(data);
    switch (message?.t) {
      case undefined:
        return;
      case 'ready':
        this.#phase = 'ready';
        this.#events.onReady?.(message.sessionId);
        return;
      case 'exit':
        this.#exit = { code: message.code, signal: message.signal };
        return;
      case 'error':
        this.#error = { code: message.error.code, message: message.error.message };
        return;
      default: {
        const never: never = message;
        void never;
      }
    }
  }

  #output(frame: Uint8Array): void {
    const stream = frame[0];
    if (stream !== TERMINAL_STREAM_BYTE.stdout && stream !== TERMINAL_STREAM_BYTE.stderr) return;
    const payload = frame.subarray(1);
    if (payload.length === 0) return;
    this.#acks.receive(payload.length);
    this.#sink.write(payload, () => this.#consumed(payload.length));
  }

  #consumed(bytes: number): void {
    const advice = this.#acks.consume(bytes);
    if (advice === 'now') this.#flushAck();
    else if (advice === 'soon' && this.#ackTimer === undefined) {
      this.#ackTimer = setTimeout(() => this.#flushAck(), ACK_IDLE_MS);
    }
  }

  #flushAck(): void {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    const bytes = this.#acks.take();
    if (bytes !== undefined) this.#send({ t: 'ack', bytes });
  }

  async #closed(code: number): Promise<void> {
    clearTimeout(this.#ackTimer);
    if (this.#phase === 'ended') return;
    this.#phase = 'ended';
    const refusal = this.#opened ? undefined : await this.#explainRefusal(this.options.url).catch(() => undefined);
    const end = { code, exit: this.#exit, error: this.#error, opened: this.#opened };
    this.#events.onEnd?.({ ...end, explanation: explainEnd(end, refusal) });
  }
}

/** What a closed terminal tells its user (close codes: TERMINAL_CLOSE). */
export function explainEnd(end: Omit<TerminalEnd, 'explanation'>, refusal?: string): string {
  if (end.exit) {
    if (end.exit.signal) return `The process was ended by ${end.exit.signal}.`;
    return end.exit.code === 0 || end.exit.code === null
      ? 'The shell exited.'
      : `The process exited with code ${end.exit.code}.`;
  }
  const detail = end.error ? ` (${end.error.message})` : '';
  switch (end.code) {
    case TERMINAL_CLOSE.accessLost:
      return `Your access to this terminal ended: signed out, removed from the tenant, or the token was revoked${detail}.`;
    case TERMINAL_CLOSE.idle:
      return 'Closed after a long time without input or output.';
    case TERMINAL_CLOSE.agentGone:
      return `The agent ended the session or its node went away${detail}.`;
    case TERMINAL_CLOSE.protocol:
      return `The gateway refused a message${detail}.`;
    case TERMINAL_CLOSE.exited:
      return end.error ? `The terminal closed${detail}.` : 'The terminal closed.';
    default:
      if (!end.opened)
        return `Could not open the terminal${refusal ? `: ${refusal}` : ': the control plane cannot be reached.'}`;
      return end.error ? `The terminal failed${detail}.` : 'The connection to the terminal was lost.';
  }
}

/** Refusals that concern the caller or the target; anything else (400 "not an upgrade") says nothing useful. */
const REFUSALS = new Set([401, 403, 404, 409, 502, 503]);

/** Asks the terminal's path over HTTP: a refusal there is the API's JSON error (401, 403, 404…). */
async function explainOverHttp(url: string): Promise<string | undefined> {
  const http = new URL(url);
  http.protocol = http.protocol === 'wss:' ? 'https:' : 'http:';
  const response = await fetch(http, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (!REFUSALS.has(response.status)) return undefined;
  const body = (await response.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
  return body?.error?.message;
}
