import {
  AGENT_HEARTBEAT_SECONDS,
  type AgentFrame,
  type GatewayFrame,
  MAX_AGENT_FRAME_BYTES,
} from '@agentpod/contracts';
import type { Logger } from '@agentpod/kit';
import type { RawData } from 'ws';
import { ReconnectBackoff } from './backoff.ts';
import { decodeGatewayFrame, encodeAgentFrame } from './frames.ts';
import { type Drained, Outbox } from './outbox.ts';
import { WebSocket, WS_OPEN, type WsSocket } from './ws.ts';

/** Where to dial and with what; asked again before every attempt (the credential may have been renewed). */
export type DialTarget = { url: string; credential: string };

export type ConnectionDeps = {
  logger: Logger;
  target: () => Promise<DialTarget>;
  /**
   * The gateway refused the credential (401). A caller that can get a new one (local join) does and resolves
   * true, and the agent dials again soon; otherwise it dials again slowly, in case an operator joins it again.
   */
  renew?: () => Promise<boolean>;
  /** The first frame of every connection: facts and the full inventory, taken now. */
  hello: () => Promise<Extract<AgentFrame, { t: 'hello' }>>;
  onFrame: (frame: GatewayFrame) => void;
  /** After `hello` and what waited in the outbox went out. */
  onReady?: (drained: Drained) => void;
  /** The socket closed (or never opened); every session bound to it is over. */
  onDown?: () => void;
  heartbeatMs?: number;
  /** A ping goes out this often; no pong by the next one means the peer is gone and the socket is dropped. */
  pingMs?: number;
  now?: () => number;
  backoff?: ReconnectBackoff;
};

type State = 'down' | 'opening' | 'ready' | 'stopped';

/** Bytes queued on the socket above which streams wait before sending more (log sessions). */
const HIGH_WATER_BYTES = 1 << 20;
const CLOSE_NORMAL = 1000;

/**
 * The agent's one connection to the control plane: dials `ws(s)://<gateway>/agent` with the node credential,
 * says `hello` on every (re)connect, sends heartbeats while up, and dials again with jittered backoff whenever
 * the socket closes, forever, until `stop()`. Frames sent while it is not ready wait in an `Outbox`.
 */
export class AgentConnection {
  private state: State = 'down';
  private socket: WsSocket | undefined;
  private readonly outbox = new Outbox();
  private readonly backoff: ReconnectBackoff;
  private readonly now: () => number;
  private timers: NodeJS.Timeout[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  /** What the last failure was, so a gateway that stays down is logged once, not at every attempt. */
  private lastProblem = '';
  private closed: Promise<void> = Promise.resolve();
  private dropped = 0;
  private sockets = 0;
  /** Something arrived from the gateway since the last ping. */
  private alive = true;

  constructor(private readonly deps: ConnectionDeps) {
    this.backoff = deps.backoff ?? new ReconnectBackoff();
    this.now = deps.now ?? Date.now;
  }

  get ready(): boolean {
    return this.state === 'ready';
  }

  /** Frames waiting in the outbox for the socket to be ready. */
  get waiting(): number {
    return this.outbox.size;
  }

  /** Frames from the gateway dropped as malformed since the start. */
  get droppedFrames(): number {
    return this.dropped;
  }

  start(): void {
    if (this.state === 'down' && !this.socket && !this.retryTimer) void this.dial();
  }

  /**
   * Sends now when ready; otherwise keeps the frame for after the next `hello` when it is `durable` or while a
   * socket is opening, and drops it when no socket is there.
   */
  send(frame: AgentFrame, durable = false): void {
    if (this.state === 'stopped') return;
    if (this.state === 'ready' && this.socket) {
      this.write(this.socket, frame);
      return;
    }
    if (durable || this.state === 'opening') this.outbox.push(frame, durable);
  }

  /**
   * The current socket's number. A reply belongs to the socket its request came on: the gateway numbers requests
   * per socket, so a late reply written to the next socket could answer a different request there.
   */
  get epoch(): number {
    return this.sockets;
  }

  /** Sends a reply if the socket its request came on (`epoch`) is still the current one; drops it otherwise. */
  reply(epoch: number, frame: Extract<AgentFrame, { t: 'res' }>): void {
    if (epoch !== this.sockets) {
      this.deps.logger.debug({ id: frame.id }, 'dropped a reply: its socket is gone');
      return;
    }
    this.send(frame);
  }

  /** Resolves when the socket can take more (false: it is gone), so a stream never outruns the network. */
  async writable(): Promise<boolean> {
    for (;;) {
      const socket = this.socket;
      if (this.state !== 'ready' || !socket) return false;
      if (socket.bufferedAmount < HIGH_WATER_BYTES) return true;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Closes the socket (1000) and stops dialling. Containers are none of its business: they keep running. */
  async stop(): Promise<void> {
    this.state = 'stopped';
    clearTimeout(this.retryTimer);
    this.stopTimers();
    const socket = this.socket;
    if (socket && socket.readyState <= WS_OPEN) {
      const force = setTimeout(() => socket.terminate(), 2_000);
      socket.close(CLOSE_NORMAL, 'agent stopping');
      await this.closed;
      clearTimeout(force);
    }
  }

  private async dial(): Promise<void> {
    this.retryTimer = undefined;
    let target: DialTarget;
    try {
      target = await this.deps.target();
    } catch (error) {
      this.problem(`cannot get a credential: ${(error as Error).message}`);
      this.retry(false);
      return;
    }
    if (this.state === 'stopped') return;
    const socket = new WebSocket(target.url, {
      headers: { authorization: `Bearer ${target.credential}` },
      maxPayload: MAX_AGENT_FRAME_BYTES,
      handshakeTimeout: 10_000,
      perMessageDeflate: false,
    });
    this.socket = socket;
    this.sockets += 1;
    let status: number | undefined;
    let failure = '';
    let resolveClosed: () => void = () => {};
    this.closed = new Promise((resolve) => {
      resolveClosed = resolve;
    });
    socket.on('unexpected-response', (request, response) => {
      status = response.statusCode;
      response.resume();
      request.destroy();
      socket.terminate();
    });
    socket.on('error', (error) => {
      failure = error.message;
    });
    socket.on('open', () => void this.opened(socket, target.url));
    socket.on('message', (data, isBinary) => this.received(data, isBinary));
    socket.on('close', (code, reason) => {
      resolveClosed();
      this.down(socket, target.url, { status, failure, code, reason: reason.toString('utf8') });
    });
  }

  private async opened(socket: WsSocket, url: string): Promise<void> {
    this.state = 'opening';
    this.backoff.opened(this.now());
    let hello: Extract<AgentFrame, { t: 'hello' }>;
    try {
      hello = await this.deps.hello();
    } catch (error) {
      this.deps.logger.error({ err: error }, 'could not gather the hello (facts and inventory); reconnecting');
      socket.terminate();
      return;
    }
    if (this.socket !== socket || this.state !== 'opening') return; // closed while the inventory was taken
    if (!this.write(socket, hello)) {
      socket.terminate();
      return;
    }
    const drained = this.outbox.drain();
    for (const frame of drained.frames) this.write(socket, frame);
    this.state = 'ready';
    this.deps.logger.info({ gateway: url, containers: hello.containers.length }, 'connected to the control plane');
    this.lastProblem = '';
    this.startTimers(socket);
    this.deps.onReady?.(drained);
  }

  private received(data: RawData, isBinary: boolean): void {
    this.alive = true;
    // The socket's default binaryType hands over one Buffer; the other shapes are normalised all the same.
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    const decoded = decodeGatewayFrame(bytes, isBinary);
    if (!decoded.ok) {
      this.dropped += 1;
      this.deps.logger.warn({ reason: decoded.reason }, 'dropped a malformed frame from the gateway');
      return;
    }
    if (decoded.frame.t === 'bye') {
      this.deps.logger.warn(
        { reason: decoded.frame.reason },
        `the gateway is closing the connection: ${decoded.frame.reason}`,
      );
      return;
    }
    this.deps.onFrame(decoded.frame);
  }

  private down(
    socket: WsSocket,
    url: string,
    how: { status: number | undefined; failure: string; code: number; reason: string },
  ): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    this.stopTimers();
    socket.removeAllListeners();
    socket.on('error', () => {}); // a late error on a dead socket must not crash the process
    this.outbox.dropTransient();
    const wasUp = this.state === 'ready' || this.state === 'opening';
    if (this.state !== 'stopped') this.state = 'down';
    this.deps.onDown?.();
    if (this.state === 'stopped') return;
    const refused = how.status === 401;
    if (refused)
      this.problem(
        `credential refused by ${url} (node removed?)`,
        'error',
        this.deps.renew ? '' : '; asking again every 15-30 s in case it is joined again',
      );
    else if (how.status !== undefined)
      this.problem(`the gateway at ${url} answered ${how.status} instead of a WebSocket`);
    else if (wasUp) this.problem(`connection to ${url} lost (${how.code}${how.reason ? ` ${how.reason}` : ''})`);
    else this.problem(`cannot reach the control plane at ${url}: ${how.failure || `closed with ${how.code}`}`);
    if (refused && this.deps.renew) {
      this.deps.renew().then(
        (renewed) => this.retry(!renewed),
        (error: Error) => {
          this.deps.logger.error({ err: error }, 'could not renew the credential');
          this.retry(true);
        },
      );
      return;
    }
    this.retry(refused);
  }

  private retry(refused: boolean): void {
    if (this.state === 'stopped') return;
    const delay = this.backoff.next(this.now(), refused);
    this.deps.logger.debug({ delayMs: delay }, 'reconnecting');
    this.retryTimer = setTimeout(() => void this.dial(), delay);
  }

  /** Logs a failure when it differs from the previous one (a gateway down for an hour is one line, not 200). */
  private problem(message: string, level: 'warn' | 'error' = 'warn', then = '; retrying with backoff'): void {
    if (message === this.lastProblem) {
      this.deps.logger.debug(message);
      return;
    }
    this.lastProblem = message;
    this.deps.logger[level](`${message}${then}`);
  }

  private startTimers(socket: WsSocket): void {
    const heartbeatMs = this.deps.heartbeatMs ?? AGENT_HEARTBEAT_SECONDS * 1_000;
    const pingMs = this.deps.pingMs ?? 15_000;
    this.alive = true;
    socket.on('pong', () => {
      this.alive = true;
    });
    this.timers.push(
      setInterval(() => this.send({ t: 'hb', at: new Date(this.now()).toISOString() }), heartbeatMs),
      setInterval(() => {
        // Nothing from the gateway for a whole interval (not even a pong): the peer or the path is gone, and
        // TCP may take many minutes to notice on its own.
        if (!this.alive) {
          this.deps.logger.warn('no answer from the gateway to a ping; dropping the connection');
          socket.terminate();
          return;
        }
        this.alive = false;
        socket.ping();
      }, pingMs),
    );
  }

  private stopTimers(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  private write(socket: WsSocket, frame: AgentFrame): boolean {
    const text = encodeAgentFrame(frame);
    if (text === undefined) {
      this.deps.logger.error({ t: frame.t }, 'a frame is over the size limit; not sent');
      return false;
    }
    socket.send(text);
    return true;
  }
}
