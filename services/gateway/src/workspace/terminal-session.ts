import {
  AppError,
  type ErrorBody,
  TERMINAL_CHUNK_BYTES,
  TERMINAL_CLOSE,
  TERMINAL_STREAM_BYTE,
  TERMINAL_WINDOW_BYTES,
  TerminalClientMessage,
  TerminalOutput,
  type TerminalServerMessage,
  type TerminalTarget,
} from '@agentpod/contracts';
import type { Logger } from '@agentpod/kit';
import type { WebSocket } from '@fastify/websocket';
import type { NatsConnection } from '@nats-io/nats-core';
import { AgentSession } from './agent-session.ts';
import type { WorkspaceOptions } from './settings.ts';
import { askAgent } from './targets.ts';

/*
 * One open terminal: the client's WebSocket on one side, the agent's session subjects on the other.
 *
 *   waiting ──start──▶ opening ──terminalOpen answered──▶ open ──exit / error / denied / idle / client gone──▶ closed
 *
 * Output is relayed as it comes: the agent holds back once TERMINAL_WINDOW_BYTES are unacknowledged, and the
 * client's acknowledgements are forwarded verbatim, so a slow client slows the pty, not the gateway's memory. A
 * client that acknowledges what it does not read is cut off once its socket buffers 4 windows.
 */

/** Input a client may send while the agent is still opening the terminal (relayed once it is open). */
const MAX_QUEUED_BYTES = 1024 * 1024;
/** Denials that end a terminal at a re-check; anything else (a slow service) waits for the next one. */
const DENIED = new Set(['unauthenticated', 'forbidden', 'not_found']);
/** How long the agent may take to start the process (a `docker exec` on a busy node). */
const OPEN_TIMEOUT_MS = 30_000;

export type TerminalSessionOptions = {
  nc: NatsConnection;
  logger: Logger;
  socket: WebSocket;
  nodeId: string;
  target: TerminalTarget;
  /** Authenticates the caller again and asks pods again; throws the AppError of a denial. */
  recheck: () => Promise<void>;
  correlationId: string;
  options: WorkspaceOptions;
  onClosed: () => void;
};

type Phase = 'waiting' | 'opening' | 'open' | 'closed';

export class TerminalSession {
  readonly #o: TerminalSessionOptions;
  #phase: Phase = 'waiting';
  #agent: AgentSession<TerminalOutput> | undefined;
  /** The agent ended the session itself (exit or error): no `close` to send. */
  #agentEnded = false;
  /** Client messages that arrived while the agent was opening the terminal. */
  #queued: { data: Buffer; binary: boolean }[] = [];
  #queuedBytes = 0;
  /** Agent output that arrived before its answer to terminalOpen: sent after `ready`. */
  #early: TerminalOutput[] = [];
  #lastActivity = Date.now();
  #checking = false;
  readonly #timers: NodeJS.Timeout[] = [];

  constructor(options: TerminalSessionOptions) {
    this.#o = options;
    const { socket } = options;
    socket.on('message', (data, binary) => this.#receive(toBuffer(data), binary));
    socket.on('close', () => this.#cleanup());
    socket.on('error', (error) => options.logger.debug({ err: error }, 'terminal socket error'));
    this.#timers.push(
      setTimeout(() => {
        if (this.#phase === 'waiting') this.#fail(TERMINAL_CLOSE.protocol, 'invalid', 'no start message in time');
      }, options.options.startTimeoutMs),
    );
  }

  /** Gateway shutdown: the client may reconnect to another replica. */
  shutdown(): void {
    if (this.#phase === 'closed') return;
    this.#o.socket.close(1001, 'the gateway is shutting down');
    this.#cleanup();
  }

  #receive(data: Buffer, binary: boolean): void {
    switch (this.#phase) {
      case 'waiting':
        this.#start(data, binary);
        return;
      case 'opening':
        this.#queuedBytes += data.length;
        if (this.#queuedBytes > MAX_QUEUED_BYTES) {
          this.#fail(TERMINAL_CLOSE.protocol, 'invalid', 'too much input before the terminal was ready');
        } else this.#queued.push({ data, binary });
        return;
      case 'open':
        this.#relayInput(data, binary);
        return;
      case 'closed':
        return;
      default: {
        const unknown: never = this.#phase;
        throw new Error(`unknown phase ${String(unknown)}`);
      }
    }
  }

  #start(data: Buffer, binary: boolean): void {
    const message = binary ? undefined : parseClientMessage(data);
    if (message?.t !== 'start') {
      this.#fail(TERMINAL_CLOSE.protocol, 'invalid', 'the first message must be {"t":"start",cols,rows}');
      return;
    }
    this.#phase = 'opening';
    const { nc, logger, nodeId, target, correlationId, options } = this.#o;
    this.#agent = new AgentSession({
      nc,
      logger,
      nodeId,
      schema: TerminalOutput,
      keepaliveMs: options.keepaliveMs,
      onMessage: (output) => (this.#phase === 'open' ? this.#relayOutput(output) : this.#early.push(output)),
    });
    const input = {
      sessionId: this.#agent.id,
      target,
      tty: message.tty,
      size: { cols: message.cols, rows: message.rows },
      ...(message.command ? { command: message.command } : {}),
    };
    askAgent(nc, nodeId, 'terminalOpen', input, correlationId, OPEN_TIMEOUT_MS).then(
      () => this.#opened(),
      (error: unknown) => {
        const body =
          error instanceof AppError
            ? error.toBody()
            : { code: 'internal' as const, message: 'the terminal could not be opened' };
        if (!(error instanceof AppError)) logger.error({ err: error }, 'terminalOpen failed');
        this.#agentEnded = true;
        this.#failWith(TERMINAL_CLOSE.agentGone, body);
      },
    );
  }

  #opened(): void {
    if (!this.#agent) return;
    if (this.#phase !== 'opening') {
      // The client went while the agent was starting the terminal: the `close` sent then may have been too early.
      this.#agent.sendClose();
      return;
    }
    this.#phase = 'open';
    this.#send({ t: 'ready', sessionId: this.#agent.id });
    for (const output of this.#early.splice(0)) this.#relayOutput(output);
    for (const { data, binary } of this.#queued.splice(0)) this.#relayInput(data, binary);
    this.#queuedBytes = 0;
    // The early output may have ended the session (a command that exited at once): no timers then, or they would
    // run for ever and keep the process alive.
    if ((this.#phase as string) !== 'open') return;
    this.#lastActivity = Date.now();
    const { options } = this.#o;
    this.#timers.push(setInterval(() => this.#recheck(), options.recheckMs));
    this.#scheduleIdle(options.terminalIdleMs);
  }

  #relayInput(data: Buffer, binary: boolean): void {
    const agent = this.#agent;
    if (!agent || this.#phase !== 'open') return;
    if (binary) {
      this.#lastActivity = Date.now();
      for (let offset = 0; offset < data.length; offset += TERMINAL_CHUNK_BYTES) {
        agent.send({ t: 'in', data: data.subarray(offset, offset + TERMINAL_CHUNK_BYTES).toString('base64') });
      }
      return;
    }
    const message = parseClientMessage(data);
    switch (message?.t) {
      case 'resize':
        agent.send({ t: 'resize', cols: message.cols, rows: message.rows });
        return;
      case 'ack':
        agent.send({ t: 'ack', bytes: message.bytes });
        return;
      case 'eof':
        agent.send({ t: 'eof' });
        return;
      case 'start':
        this.#fail(TERMINAL_CLOSE.protocol, 'invalid', 'the terminal is already started');
        return;
      case undefined:
        this.#fail(TERMINAL_CLOSE.protocol, 'invalid', 'a text frame must be a terminal message (resize, ack, eof)');
        return;
      default: {
        const unknown: never = message;
        throw new Error(`unknown client message ${JSON.stringify(unknown)}`);
      }
    }
  }

  #relayOutput(output: TerminalOutput): void {
    if (this.#phase !== 'open') return;
    switch (output.t) {
      case 'out': {
        const bytes = Buffer.from(output.data, 'base64');
        const frame = Buffer.allocUnsafe(bytes.length + 1);
        frame[0] = TERMINAL_STREAM_BYTE[output.stream];
        bytes.copy(frame, 1);
        this.#lastActivity = Date.now();
        this.#o.socket.send(frame, { binary: true });
        if (this.#o.socket.bufferedAmount > 4 * TERMINAL_WINDOW_BYTES) {
          this.#fail(TERMINAL_CLOSE.protocol, 'invalid', 'the client acknowledges output it does not read');
        }
        return;
      }
      case 'exit':
        this.#agentEnded = true;
        this.#send({ t: 'exit', code: output.code, ...(output.signal ? { signal: output.signal } : {}) });
        this.#close(TERMINAL_CLOSE.exited, 'exited');
        return;
      case 'error':
        this.#agentEnded = true;
        this.#failWith(TERMINAL_CLOSE.agentGone, output.error);
        return;
      default: {
        const unknown: never = output;
        throw new Error(`unknown terminal output ${JSON.stringify(unknown)}`);
      }
    }
  }

  #recheck(): void {
    if (this.#checking || this.#phase !== 'open') return;
    this.#checking = true;
    this.#o
      .recheck()
      .catch((error: unknown) => {
        if (error instanceof AppError && DENIED.has(error.code)) {
          this.#failWith(TERMINAL_CLOSE.accessLost, {
            code: error.code,
            message: `your access to this terminal ended: ${error.message}`,
          });
        } else this.#o.logger.warn({ err: error }, 'could not re-check an open terminal');
      })
      .finally(() => {
        this.#checking = false;
      });
  }

  #scheduleIdle(delayMs: number): void {
    const timer = setTimeout(() => {
      const idleFor = Date.now() - this.#lastActivity;
      const limit = this.#o.options.terminalIdleMs;
      if (idleFor >= limit) {
        this.#fail(TERMINAL_CLOSE.idle, 'timeout', `no input or output for ${Math.round(limit / 1000)} s`);
      } else this.#scheduleIdle(limit - idleFor);
    }, delayMs);
    this.#timers.push(timer);
  }

  #send(message: TerminalServerMessage): void {
    if (this.#o.socket.readyState === 1) this.#o.socket.send(JSON.stringify(message));
  }

  #fail(code: number, errorCode: ErrorBody['code'], message: string): void {
    this.#failWith(code, { code: errorCode, message });
  }

  #failWith(code: number, error: ErrorBody): void {
    if (this.#phase === 'closed') return;
    this.#send({ t: 'error', error });
    this.#close(code, error.message);
  }

  #close(code: number, reason: string): void {
    if (this.#phase === 'closed') return;
    // A close reason is at most 123 bytes.
    this.#o.socket.close(code, Buffer.from(reason).subarray(0, 120).toString());
    this.#cleanup();
  }

  #cleanup(): void {
    if (this.#phase === 'closed') return;
    this.#phase = 'closed';
    for (const timer of this.#timers) clearTimeout(timer);
    this.#agent?.end(!this.#agentEnded);
    this.#queued = [];
    this.#early = [];
    this.#o.onClosed();
  }
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function parseClientMessage(data: Buffer): TerminalClientMessage | undefined {
  try {
    const parsed = TerminalClientMessage.safeParse(JSON.parse(data.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
