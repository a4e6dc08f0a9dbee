import { AGENT_HEARTBEAT_SECONDS, agentSubjects, type NodeStatus, nodeIdOf } from '@agentpod/contracts';
import type { Logger, ServiceRuntime } from '@agentpod/kit';

type NatsConnection = ServiceRuntime<unknown>['nc'];
type Subscription = ReturnType<NatsConnection['subscribe']>;

/**
 * A node is online while its last sign of life is at most three heartbeat intervals old (9 s): three missed
 * heartbeats make it unreachable. Status is computed when it is read, from the time of the last heartbeat, so it is
 * never staler than the read itself.
 */
export const ONLINE_WINDOW_MS = 3 * AGENT_HEARTBEAT_SECONDS * 1_000;

/**
 * When each node's heartbeat last arrived, in memory. Heartbeats are core NATS (not stored); every replica
 * subscribes without a queue group, so each one knows every node. After a restart a node's status is rebuilt
 * from the next heartbeat, a few seconds away.
 */
export class Heartbeats {
  readonly #last = new Map<string, number>();

  seen(nodeId: string, at: Date): void {
    this.#last.set(nodeId, at.getTime());
  }

  last(nodeId: string): Date | undefined {
    const at = this.#last.get(nodeId);
    return at === undefined ? undefined : new Date(at);
  }
}

/** Records every node's heartbeats as they arrive; the payload is not read, the subject names the node. */
export function watchHeartbeats(options: {
  nc: NatsConnection;
  heartbeats: Heartbeats;
  clock: () => Date;
  logger: Logger;
}): Subscription {
  const subscription = options.nc.subscribe(agentSubjects.allHeartbeats);
  void (async () => {
    for await (const message of subscription) {
      const nodeId = nodeIdOf(message.subject);
      if (nodeId) options.heartbeats.seen(nodeId, options.clock());
    }
  })().catch((error: unknown) => options.logger.error({ err: error }, 'heartbeat subscription failed'));
  return subscription;
}

export type Liveness = { status: NodeStatus; lastSeenAt: string | null };

/**
 * A node's status from its last heartbeat (memory) and its socket's last open and close (AGENT read model):
 * never seen → pending; socket closed since → unreachable; else online while the last sign of life is recent.
 */
export function nodeLiveness(input: {
  removed: boolean;
  connectedAt: Date | null;
  disconnectedAt: Date | null;
  heartbeat: Date | undefined;
  now: Date;
}): Liveness {
  const { connectedAt, disconnectedAt, heartbeat } = input;
  const times = [heartbeat, connectedAt, disconnectedAt].flatMap((at) => (at ? [at.getTime()] : []));
  const lastSeen = times.length > 0 ? Math.max(...times) : undefined;
  const lastSeenAt = lastSeen === undefined ? null : new Date(lastSeen).toISOString();
  if (input.removed) return { status: 'removed', lastSeenAt };
  if (lastSeen === undefined) return { status: 'pending', lastSeenAt };
  const closed =
    disconnectedAt !== null &&
    (connectedAt === null || disconnectedAt >= connectedAt) &&
    (heartbeat === undefined || heartbeat <= disconnectedAt);
  if (closed) return { status: 'unreachable', lastSeenAt };
  return { status: input.now.getTime() - lastSeen <= ONLINE_WINDOW_MS ? 'online' : 'unreachable', lastSeenAt };
}
