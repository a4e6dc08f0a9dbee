import { AGENT_HEARTBEAT_SECONDS, agentSubjects, NodeId, nodeIdOf } from '@agentpod/contracts';
import type { Logger } from '@agentpod/kit';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';

/** A node is online while its last heartbeat is younger than three heartbeat intervals (and a second of slack). */
export const ONLINE_WINDOW_MS = 3 * AGENT_HEARTBEAT_SECONDS * 1_000 + 1_000;

/**
 * Which nodes are reachable, from the heartbeats the gateway publishes for each open agent socket. Kept in memory
 * by every instance (heartbeats are not stored): each subscribes without a queue group and so hears all of them.
 */
export class NodeLiveness {
  readonly #lastSeen = new Map<string, number>();
  readonly #clock: () => Date;
  readonly #onReturn: (nodeId: string) => void;

  /** `onReturn` runs when a node that was offline (or never heard of) sends a heartbeat. */
  constructor(clock: () => Date, onReturn: (nodeId: string) => void = () => {}) {
    this.#clock = clock;
    this.#onReturn = onReturn;
  }

  heard(nodeId: string): void {
    const now = this.#clock().getTime();
    const wasOnline = this.#isOnline(nodeId, now);
    this.#lastSeen.set(nodeId, now);
    if (!wasOnline) this.#onReturn(nodeId);
  }

  /**
   * The node's socket is gone (nothing answered its subjects): it is offline until its next heartbeat, instead of
   * for the rest of the heartbeat window.
   */
  lost(nodeId: string): void {
    this.#lastSeen.delete(nodeId);
  }

  online(now: Date = this.#clock()): Set<string> {
    const at = now.getTime();
    return new Set([...this.#lastSeen.keys()].filter((nodeId) => this.#isOnline(nodeId, at)));
  }

  lastSeen(nodeId: string): Date | null {
    const at = this.#lastSeen.get(nodeId);
    return at === undefined ? null : new Date(at);
  }

  /** Follows every node's heartbeat subject until the subscription is closed. */
  listen(nc: NatsConnection, logger: Logger): Subscription {
    const subscription = nc.subscribe(agentSubjects.allHeartbeats);
    void (async () => {
      for await (const message of subscription) {
        const nodeId = NodeId.safeParse(nodeIdOf(message.subject));
        if (nodeId.success) this.heard(nodeId.data);
        else logger.debug({ subject: message.subject }, 'heartbeat on a subject that names no node');
      }
    })();
    return subscription;
  }

  #isOnline(nodeId: string, now: number): boolean {
    const seen = this.#lastSeen.get(nodeId);
    return seen !== undefined && now - seen < ONLINE_WINDOW_MS;
  }
}
