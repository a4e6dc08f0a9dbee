import type { IncomingMessage } from 'node:http';
import { TERMINAL_STREAM_BYTE, TerminalClientMessage, type TerminalServerMessage } from '@agentpod/contracts';
import { type WebSocket, WebSocketServer } from 'ws';
import type { FakeGateway } from './fake-gateway.ts';

/*
 * The gateway's terminal WebSocket as the CLI sees it (contracts/workspace.ts), for the stand-in gateway: a real
 * WebSocket server on the stand-in's port that hands each connection to a script playing the gateway's part.
 */

/** What the CLI sent, in order: text frames parsed, binary frames (stdin) as bytes. */
export type Received = { kind: 'message'; message: TerminalClientMessage } | { kind: 'input'; bytes: Buffer };

export class TerminalPeer {
  readonly request: IncomingMessage;
  readonly received: Received[] = [];
  readonly #socket: WebSocket;
  readonly #waiters = new Set<() => void>();
  closed = false;

  constructor(socket: WebSocket, request: IncomingMessage) {
    this.#socket = socket;
    this.request = request;
    socket.on('message', (data: Buffer, isBinary) => {
      if (isBinary) this.received.push({ kind: 'input', bytes: Buffer.from(data) });
      else this.received.push({ kind: 'message', message: TerminalClientMessage.parse(JSON.parse(String(data))) });
      this.#wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
  }

  #wake() {
    for (const waiter of this.#waiters) waiter();
  }

  /** Every text message of the CLI so far. */
  get messages(): TerminalClientMessage[] {
    return this.received.flatMap((r) => (r.kind === 'message' ? [r.message] : []));
  }

  /** The stdin bytes the CLI sent so far. */
  get input(): Buffer {
    return Buffer.concat(this.received.flatMap((r) => (r.kind === 'input' ? [r.bytes] : [])));
  }

  /** The CLI's latest acknowledgement (cumulative output bytes it has written). */
  get acked(): number {
    const acks = this.messages.flatMap((m) => (m.t === 'ack' ? [m.bytes] : []));
    return acks.at(-1) ?? 0;
  }

  /** Resolves once `check()` is true; rejects if the CLI hangs up first or after `timeoutMs`. */
  until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const test = () => {
        if (check()) done(resolve);
        else if (this.closed) done(() => reject(new Error(`the CLI hung up before ${what}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no ${what} in ${timeoutMs} ms`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(test);
        settle();
      };
      this.#waiters.add(test);
      test();
    });
  }

  /** The `start` message, once it came. */
  async start(): Promise<Extract<TerminalClientMessage, { t: 'start' }>> {
    await this.until(() => this.messages.some((m) => m.t === 'start'), 'start message');
    return this.messages.find((m) => m.t === 'start') as Extract<TerminalClientMessage, { t: 'start' }>;
  }

  send(message: TerminalServerMessage): void {
    this.#socket.send(JSON.stringify(message));
  }

  output(bytes: Buffer | string, stream: keyof typeof TERMINAL_STREAM_BYTE = 'stdout'): void {
    this.#socket.send(Buffer.concat([Buffer.from([TERMINAL_STREAM_BYTE[stream]]), Buffer.from(bytes)]), {
      binary: true,
    });
  }

  close(code: number, reason = ''): void {
    this.#socket.close(code, reason);
  }
}

/**
 * Serves the terminal socket at `path` on the stand-in gateway: each connection is upgraded and given to `script`
 * (which plays the gateway); a script that throws closes the socket with 1011 and the error is kept in `errors`.
 */
export function serveTerminal(
  gateway: FakeGateway,
  path: string,
  script: (peer: TerminalPeer) => Promise<void>,
): { peers: TerminalPeer[]; errors: unknown[] } {
  const server = new WebSocketServer({ noServer: true });
  const peers: TerminalPeer[] = [];
  const errors: unknown[] = [];
  gateway.onUpgrade(path, (request, socket, head) => {
    server.handleUpgrade(request, socket, head, (ws) => {
      const peer = new TerminalPeer(ws, request);
      peers.push(peer);
      script(peer).catch((error: unknown) => {
        errors.push(error);
        ws.close(1011, String(error).slice(0, 100));
      });
    });
  });
  return { peers, errors };
}
