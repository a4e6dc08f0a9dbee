import { AppError, controlSubjects, NodeCredentialResults, querySubject, systemActor } from '@agentpod/contracts';
import { EventStore, ensureStreams, type Logger, request } from '@agentpod/kit';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { z } from 'zod';
import { AgentConnection, type AgentSocket } from './connection.ts';
import type { AgentStore } from './node-log.ts';
import { type AgentSocketOptions, CLOSE_CODES, SHUTDOWN_APPEND_WAIT_MS } from './settings.ts';

/** A credential identity accepted for an upgrade, and when the check began (for revocations that cross it). */
export type AuthenticatedUpgrade = { nodeId: string; credential: string; checkedAt: number };

const Revoked = z.object({ nodeId: z.string() });

function jsonOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Every agent socket this gateway holds, one per node: a newer socket of a node replaces the older one. Listens
 * to `controlSubjects.nodeRevoked` and drops that node's socket at once.
 */
export class AgentRelay {
  readonly #nc: NatsConnection;
  readonly #logger: Logger;
  readonly #options: AgentSocketOptions;
  readonly #clock: () => Date;
  readonly #connections = new Map<string, AgentConnection>();
  /** Every connection not yet drained, including replaced ones still storing their last events. */
  readonly #live = new Set<AgentConnection>();
  /** The revocation counter when each node was last revoked, to catch one that lands mid-upgrade. */
  readonly #revokedAt = new Map<string, number>();
  #revocations = 0;
  #revocationSubscription: Subscription | undefined;
  #store: Promise<AgentStore> | undefined;
  #closing = false;

  constructor(options: { nc: NatsConnection; logger: Logger; options: AgentSocketOptions; clock: () => Date }) {
    this.#nc = options.nc;
    this.#logger = options.logger.child({ area: 'agent-socket' });
    this.#options = options.options;
    this.#clock = options.clock;
    this.#revocationSubscription = this.#nc.subscribe(controlSubjects.nodeRevoked, {
      callback: (error, msg) => {
        if (error) return;
        const parsed = Revoked.safeParse(jsonOf(msg.string()));
        if (parsed.success) this.#revoke(parsed.data.nodeId);
        else this.#logger.warn('ignored a malformed node revocation broadcast');
      },
    });
  }

  /** The number of open sockets (one per node). */
  get size(): number {
    return this.#connections.size;
  }

  /** Asks identity which node a credential signs in; throws its AppError (`unauthenticated` when refused). */
  async authenticate(credential: string, correlationId: string): Promise<AuthenticatedUpgrade> {
    const checkedAt = this.#revocations;
    const answer = await request(
      this.#nc,
      querySubject('identity', 'authenticateNode'),
      { credential },
      { actor: systemActor('gateway'), correlationId },
    );
    const { nodeId } = NodeCredentialResults.authenticateNode.parse(answer);
    return { nodeId, credential, checkedAt };
  }

  /** Takes over an upgraded socket; an older socket of the same node is closed. */
  attach(socket: AgentSocket, upgrade: AuthenticatedUpgrade): void {
    const connection = new AgentConnection(
      {
        nc: this.#nc,
        logger: this.#logger,
        options: this.#options,
        clock: this.#clock,
        openStore: () => this.#openStore(),
        authenticate: async (credential) => (await this.authenticate(credential, `reauth-${upgrade.nodeId}`)).nodeId,
        onEnd: (ended) => this.#forget(ended),
      },
      socket,
      upgrade.nodeId,
      upgrade.credential,
    );
    this.#live.add(connection);
    this.#connections.get(upgrade.nodeId)?.end('replaced by a newer connection of this node', CLOSE_CODES.replaced);
    this.#connections.set(upgrade.nodeId, connection);
    connection.start();
    if (this.#closing) {
      connection.end('the gateway is shutting down', CLOSE_CODES.goingAway);
    } else if ((this.#revokedAt.get(upgrade.nodeId) ?? -1) > upgrade.checkedAt) {
      connection.end('the node credential was revoked', CLOSE_CODES.revoked);
    }
  }

  /** Says `bye` to every agent, closes their sockets and waits (bounded) for their last events to be stored. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#revocationSubscription?.unsubscribe();
    this.#revocationSubscription = undefined;
    for (const connection of [...this.#connections.values()]) {
      connection.end('the gateway is shutting down', CLOSE_CODES.goingAway);
    }
    const drained = Promise.all([...this.#live].map((connection) => connection.drained()));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), SHUTDOWN_APPEND_WAIT_MS);
    });
    const outcome = await Promise.race([drained, late]);
    clearTimeout(timer);
    if (outcome === 'late') this.#logger.warn('stopped before every agent event was stored');
  }

  #revoke(nodeId: string): void {
    this.#revokedAt.set(nodeId, ++this.#revocations);
    // Bounded: it only needs to outlive an upgrade in flight.
    if (this.#revokedAt.size > 10_000) this.#revokedAt.delete(this.#revokedAt.keys().next().value ?? '');
    this.#connections.get(nodeId)?.end('the node credential was revoked', CLOSE_CODES.revoked);
  }

  #forget(connection: AgentConnection): void {
    if (this.#connections.get(connection.nodeId) === connection) this.#connections.delete(connection.nodeId);
    void connection.drained().finally(() => this.#live.delete(connection));
  }

  /** The AGENT stream, ensured once on first use (a failure is retried at the next use). */
  #openStore(): Promise<AgentStore> {
    this.#store ??= (async () => {
      const jsm = await jetstreamManager(this.#nc);
      await ensureStreams(jsm, ['agent']);
      return { store: new EventStore(jetstream(this.#nc), jsm), jsm };
    })().catch((error: unknown) => {
      this.#store = undefined;
      throw new AppError('unavailable', 'the AGENT stream is not available', { cause: error });
    });
    return this.#store;
  }
}
