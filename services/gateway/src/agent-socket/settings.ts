import { randomUUID } from 'node:crypto';

/** How the agent socket behaves; defaults suit production, tests shorten the timers. */
export type AgentSocketOptions = {
  /** Every open socket's credential is checked again this often; a refused one is dropped. */
  reauthenticateMs: number;
  /**
   * A relayed request the agent has not answered by then is dropped (its requester gets `timeout`), so a lost reply
   * never leaks. Longer than any requester waits (an image pull can take minutes).
   */
  requestTimeoutMs: number;
  /** Malformed or oversized frames a socket may send before it is closed. */
  maxBadFrames: number;
  /** Names this gateway in NodeConnected (`gatewayInstance`). */
  instanceId: string;
};

export const defaultAgentSocketOptions = (): AgentSocketOptions => ({
  reauthenticateMs: 30_000,
  requestTimeoutMs: 10 * 60_000,
  maxBadFrames: 100,
  instanceId: randomUUID(),
});

/**
 * WebSocket close codes the gateway uses; the `bye` frame before them says the same in words. 4xxx codes are
 * the application's own (RFC 6455 §7.4.2).
 */
export const CLOSE_CODES = {
  /** The gateway is shutting down: reconnect (to another replica) with backoff. */
  goingAway: 1001,
  /** Too many malformed frames. */
  policy: 1008,
  /** A newer socket of the same node took over. */
  replaced: 4000,
  /** The credential was revoked or is no longer valid: reconnecting will be refused (401) until the node joins again. */
  revoked: 4001,
  /** The agent does not read what it is sent. */
  tooSlow: 4002,
} as const;

/** Appends of one socket waiting at once; beyond that observations are dropped (the next inventory repairs). */
export const MAX_QUEUED_APPENDS = 1_000;

/** How long the gateway waits for the agent's close handshake before cutting the TCP connection. */
export const CLOSE_GRACE_MS = 5_000;

/** How long shutdown waits for the last NodeDisconnected events to be stored. */
export const SHUTDOWN_APPEND_WAIT_MS = 5_000;
