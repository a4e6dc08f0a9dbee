import { randomUUID } from 'node:crypto';
import {
  type AgentFrame,
  AppError,
  agentSubjects,
  type ErrorBody,
  type GatewayFrame,
  MAX_AGENT_FRAME_BYTES,
  type MetricsMessage,
} from '@agentpod/contracts';
import type { Logger } from '@agentpod/kit';
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import { encodeFrame, parseAgentFrame } from './frames.ts';
import type { AgentStore } from './node-log.ts';
import { NodeEventLog } from './node-log.ts';
import { type AgentSocketOptions, CLOSE_CODES, CLOSE_GRACE_MS } from './settings.ts';

/** What the relay uses of a `ws` WebSocket (the library ships no types; this is its documented API). */
export type AgentSocket = {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  on(event: 'message', listener: (data: unknown, isBinary: boolean) => void): unknown;
  on(event: 'close', listener: (code: number) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
};

const OPEN = 1;
/** Beyond this much unsent data the agent is not reading; it is dropped rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 4 * MAX_AGENT_FRAME_BYTES;

/** What a socket did, logged when it closes (and every so often for bad frames). */
export type ConnectionCounts = {
  requests: number;
  replies: number;
  /** Replies to requests that had timed out or were never sent on this socket: dropped. */
  unmatchedReplies: number;
  timedOut: number;
  observations: number;
  heartbeats: number;
  published: number;
  /** `metrics` frames published on agent.<id>.metrics, and the sampling rounds they carried. */
  metricsFrames: number;
  metricsSamples: number;
  badFrames: number;
};

export type ConnectionDeps = {
  nc: NatsConnection;
  logger: Logger;
  options: AgentSocketOptions;
  clock: () => Date;
  openStore: () => Promise<AgentStore>;
  /** Identity's answer for the credential now: the node id, or an AppError (`unauthenticated` when refused). */
  authenticate: (credential: string) => Promise<string>;
  /** Called once when the connection ends, whatever the reason. */
  onEnd: (connection: AgentConnection) => void;
};

type Pending = { msg: Msg; timer: NodeJS.Timeout };

const errorReply = (body: ErrorBody): string => JSON.stringify({ ok: false, error: body });

/**
 * One agent's socket, relayed to and from its node's own subjects. Every subject is built here from the node id
 * the credential proved, never from what a frame says, so a node reaches `agent.<its id>.*` and nothing else.
 */
export class AgentConnection {
  readonly id = randomUUID();
  readonly nodeId: string;
  readonly counts: ConnectionCounts = {
    requests: 0,
    replies: 0,
    unmatchedReplies: 0,
    timedOut: 0,
    observations: 0,
    heartbeats: 0,
    published: 0,
    metricsFrames: 0,
    metricsSamples: 0,
    badFrames: 0,
  };
  readonly #deps: ConnectionDeps;
  readonly #socket: AgentSocket;
  readonly #credential: string;
  readonly #log: NodeEventLog;
  readonly #logger: Logger;
  readonly #pending = new Map<string, Pending>();
  readonly #subscriptions: Subscription[] = [];
  #nextRequest = 0;
  #reauthTimer: NodeJS.Timeout | undefined;
  #ended = false;

  constructor(deps: ConnectionDeps, socket: AgentSocket, nodeId: string, credential: string) {
    this.#deps = deps;
    this.#socket = socket;
    this.nodeId = nodeId;
    this.#credential = credential;
    this.#logger = deps.logger.child({ nodeId, connectionId: this.id });
    this.#log = new NodeEventLog({
      open: deps.openStore,
      nodeId,
      connectionId: this.id,
      clock: deps.clock,
      logger: this.#logger,
    });
  }

  /** Starts relaying: the node's requests and session input to the socket, the socket's frames to NATS. */
  start(): void {
    const { nc } = this.#deps;
    this.#socket.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    this.#socket.on('close', (code) => this.end(`the agent closed the socket (${code})`, undefined));
    this.#socket.on('error', (error) => this.#logger.info({ err: error }, 'agent socket error'));
    // A queue group: should two gateways briefly both hold this node (a reconnect racing the old socket's
    // close), each request still reaches one agent socket only.
    this.#subscriptions.push(
      nc.subscribe(agentSubjects.commands(this.nodeId), {
        queue: `agent-${this.nodeId}`,
        callback: (error, msg) => {
          if (!error) this.#relayRequest(msg);
        },
      }),
      nc.subscribe(agentSubjects.sessionsIn(this.nodeId), {
        callback: (error, msg) => {
          if (!error) this.#relaySessionInput(msg);
        },
      }),
    );
    this.#reauthTimer = setInterval(() => void this.#reauthenticate(), this.#deps.options.reauthenticateMs);
    this.#reauthTimer.unref();
    this.#logger.info('agent connected');
  }

  /**
   * Ends the connection once: stops relaying, answers requests still waiting with `unavailable`, records
   * NodeDisconnected (unless a newer socket of this node has written since), and, when the gateway ends it
   * (`code` given), says `bye` and closes the socket.
   */
  end(reason: string, code: number | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#reauthTimer);
    for (const subscription of this.#subscriptions) subscription.unsubscribe();
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.msg.respond(errorReply({ code: 'unavailable', message: `node ${this.nodeId} disconnected: ${reason}` }));
      this.#pending.delete(id);
    }
    this.#log.record('NodeDisconnected', { reason: reason.slice(0, 512) }, { onlyIfLatest: true });
    if (code !== undefined && this.#socket.readyState === OPEN) {
      this.#socket.send(encodeFrame({ t: 'bye', reason }));
      this.#socket.close(code, reason.slice(0, 120));
      // An agent that never answers the close handshake does not hold the connection open.
      setTimeout(() => this.#socket.terminate(), CLOSE_GRACE_MS).unref();
    }
    this.#deps.onEnd(this);
    this.#logger.info({ reason, ...this.counts, droppedAppends: this.#log.dropped }, 'agent disconnected');
  }

  /** Resolves once the events this socket queued are stored. */
  drained(): Promise<void> {
    return this.#log.drained();
  }

  #send(frame: GatewayFrame): boolean {
    if (this.#ended || this.#socket.readyState !== OPEN) return false;
    if (this.#socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.end('the agent does not read its socket', CLOSE_CODES.tooSlow);
      return false;
    }
    this.#socket.send(encodeFrame(frame));
    return true;
  }

  #relayRequest(msg: Msg): void {
    if (!msg.reply) return;
    const op = agentSubjects.opOf(this.nodeId, msg.subject);
    if (op === undefined) {
      msg.respond(errorReply({ code: 'invalid', message: `${msg.subject} names no agent operation` }));
      return;
    }
    const id = String(++this.#nextRequest);
    const timer = setTimeout(() => {
      if (!this.#pending.delete(id)) return;
      this.counts.timedOut++;
      msg.respond(errorReply({ code: 'timeout', message: `node ${this.nodeId} did not answer ${op} in time` }));
    }, this.#deps.options.requestTimeoutMs);
    timer.unref();
    this.#pending.set(id, { msg, timer });
    this.counts.requests++;
    if (!this.#send({ t: 'req', id, op, body: msg.string() })) {
      clearTimeout(timer);
      this.#pending.delete(id);
      msg.respond(errorReply({ code: 'unavailable', message: `node ${this.nodeId} is not connected` }));
    }
  }

  #relaySessionInput(msg: Msg): void {
    // agent.<nodeId>.session.<sessionId>.in: the subscription's wildcard is the session token.
    const session = msg.subject.split('.')[3];
    if (session !== undefined) this.#send({ t: 'session', session, data: msg.string() });
  }

  /** The gateway's clock, not the node's: whoever tracks liveness compares it with the control plane's time. */
  #publishHeartbeat(): void {
    this.#deps.nc.publish(
      agentSubjects.heartbeat(this.nodeId),
      JSON.stringify({ at: this.#deps.clock().toISOString() }),
    );
  }

  #onMessage(data: unknown, isBinary: boolean): void {
    if (this.#ended) return;
    const parsed = parseAgentFrame(data, isBinary);
    if (!parsed.ok) {
      this.#badFrame(parsed.reason);
      return;
    }
    try {
      this.#handle(parsed.frame);
    } catch (error) {
      // NATS refuses what it cannot carry (a payload over its max_payload); the frame is dropped, never the
      // gateway.
      this.#badFrame(`could not relay a ${parsed.frame.t} frame: ${(error as Error).message}`);
    }
  }

  #handle(frame: AgentFrame): void {
    switch (frame.t) {
      case 'hello':
        this.#log.record('NodeConnected', { facts: frame.facts, gatewayInstance: this.#deps.options.instanceId });
        this.#log.record('InventoryReported', { containers: frame.containers });
        // A node that just said hello is alive now: without this, the reconciler would wait for the first
        // heartbeat (one interval) before acting on a node the pods service already places pods on.
        this.#publishHeartbeat();
        return;
      case 'hb':
        this.counts.heartbeats++;
        this.#publishHeartbeat();
        return;
      case 'obs':
        this.counts.observations++;
        this.#log.record(frame.type, frame.data, { id: frame.id });
        return;
      case 'res': {
        const pending = this.#pending.get(frame.id);
        if (!pending) {
          this.counts.unmatchedReplies++;
          return;
        }
        this.#pending.delete(frame.id);
        clearTimeout(pending.timer);
        this.counts.replies++;
        // The agent's reply text as it sent it: the requester's kit client validates it.
        try {
          pending.msg.respond(frame.reply);
        } catch (error) {
          pending.msg.respond(
            errorReply({
              code: 'internal',
              message: `node ${this.nodeId}'s reply could not be relayed: ${(error as Error).message}`,
            }),
          );
        }
        return;
      }
      case 'pub':
        this.counts.published++;
        this.#deps.nc.publish(agentSubjects.session(this.nodeId, frame.session, 'out'), frame.data);
        return;
      case 'metrics': {
        // Validated as AgentFrame already; the node id is the credential's, never the agent's word.
        const message: MetricsMessage = { nodeId: this.nodeId, samples: frame.samples };
        this.#deps.nc.publish(agentSubjects.metrics(this.nodeId), JSON.stringify(message));
        this.counts.metricsFrames++;
        this.counts.metricsSamples += frame.samples.length;
        return;
      }
      default: {
        const unknownFrame: never = frame;
        this.#badFrame(`unknown frame ${JSON.stringify(unknownFrame).slice(0, 40)}`);
      }
    }
  }

  #badFrame(reason: string): void {
    const count = ++this.counts.badFrames;
    if (count === 1 || count % 10 === 0) this.#logger.warn({ reason, badFrames: count }, 'agent frame dropped');
    if (count >= this.#deps.options.maxBadFrames) {
      this.end(`too many malformed frames (${count})`, CLOSE_CODES.policy);
    }
  }

  async #reauthenticate(): Promise<void> {
    try {
      const nodeId = await this.#deps.authenticate(this.#credential);
      if (nodeId !== this.nodeId) this.end('the credential now names another node', CLOSE_CODES.revoked);
    } catch (error) {
      if (error instanceof AppError && error.code === 'unauthenticated') {
        this.end(`the credential is no longer valid: ${error.message}`, CLOSE_CODES.revoked);
        return;
      }
      // Identity unreachable: the socket stays; the next check (or a revocation broadcast) decides.
      this.#logger.warn({ err: error }, 'could not re-check an agent credential');
    }
  }
}
