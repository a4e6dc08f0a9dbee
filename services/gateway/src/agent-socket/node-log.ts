import {
  AppError,
  type agentEvents,
  EventEnvelope,
  eventSubject,
  type NewEvent,
  type RequestMeta,
  streamName,
} from '@agentpod/contracts';
import { type AggregatePosition, ConcurrencyError, EMPTY_POSITION, type EventStore, type Logger } from '@agentpod/kit';
import type { JetStreamManager } from '@nats-io/jetstream';
import { MAX_QUEUED_APPENDS } from './settings.ts';

export type AgentEventType = keyof typeof agentEvents;

/** The AGENT stream as the relay uses it; created lazily (and once) by the relay. */
export type AgentStore = { store: EventStore; jsm: JetStreamManager };

/** What the node's aggregate ends with: its position, and which socket wrote the last event. */
type Tail = { position: AggregatePosition; correlationId: string | undefined };

const CONFLICT_ATTEMPTS = 5;

/**
 * The events one socket records on its node's AGENT aggregate (`agent.evt.<nodeId>`), appended one at a time in
 * the order the frames came, with the kit's EventStore: optimistic concurrency on the position this socket last
 * saw, retried on fresh state after a conflict. Every event of the socket carries the socket's id as correlation
 * id, which is how a NodeDisconnected tells whether a newer socket (here or on another gateway) has written since:
 * then the node is connected elsewhere and the disconnect is not recorded.
 */
export class NodeEventLog {
  readonly #open: () => Promise<AgentStore>;
  readonly #nodeId: string;
  readonly #meta: RequestMeta;
  readonly #clock: () => Date;
  readonly #logger: Logger;
  #queue: Promise<void> = Promise.resolve();
  #queued = 0;
  #position: AggregatePosition | undefined;
  /** Appends refused for good or dropped (queue full, NATS down): logged with the socket's counts. */
  dropped = 0;

  constructor(options: {
    open: () => Promise<AgentStore>;
    nodeId: string;
    connectionId: string;
    clock: () => Date;
    logger: Logger;
  }) {
    this.#open = options.open;
    this.#nodeId = options.nodeId;
    this.#meta = { actor: { kind: 'node', id: options.nodeId }, correlationId: options.connectionId };
    this.#clock = options.clock;
    this.#logger = options.logger;
  }

  /**
   * Queues one event. `id` makes it idempotent (the agent's observation id: a re-sent one is stored once).
   * `onlyIfLatest`: stored only while this socket wrote the aggregate's last event (for NodeDisconnected).
   */
  record<K extends AgentEventType>(
    type: K,
    data: unknown,
    options: { id?: string; onlyIfLatest?: boolean } = {},
  ): void {
    if (this.#queued >= MAX_QUEUED_APPENDS) {
      this.dropped++;
      this.#logger.warn({ nodeId: this.#nodeId, type }, 'agent observation dropped: too many appends waiting');
      return;
    }
    this.#queued++;
    this.#queue = this.#queue
      .then(() => this.#append({ type, data }, options))
      .catch((error: unknown) => {
        this.dropped++;
        this.#logger.warn(
          { nodeId: this.#nodeId, type, code: (error as AppError).code, err: error },
          'could not store an agent observation',
        );
      })
      .finally(() => {
        this.#queued--;
      });
  }

  /** Resolves once everything queued so far is stored (or given up). */
  drained(): Promise<void> {
    return this.#queue;
  }

  async #append(event: NewEvent, options: { id?: string; onlyIfLatest?: boolean }): Promise<void> {
    const { store, jsm } = await this.#open();
    for (let attempt = 1; ; attempt++) {
      let expected = this.#position;
      if (expected === undefined || options.onlyIfLatest) {
        const tail = await this.#tail(jsm);
        // Somebody else wrote last: a newer socket of this node is what the log now says.
        if (options.onlyIfLatest && tail.correlationId !== this.#meta.correlationId) return;
        expected = tail.position;
      }
      try {
        const { position } = await store.append('agent', this.#nodeId, [event], {
          expected,
          meta: this.#meta,
          now: this.#clock(),
          ...(options.id === undefined ? {} : { ids: [options.id] }),
        });
        // A re-sent observation is acknowledged as a duplicate without moving the log, and the kit's position
        // would then be one version ahead: after an append by id, the next one reads the tail again.
        this.#position = options.id === undefined ? position : undefined;
        return;
      } catch (error) {
        // Our position was stale (another writer, or a de-duplicated re-send that did not move the log).
        this.#position = undefined;
        if (!(error instanceof ConcurrencyError) || attempt >= CONFLICT_ATTEMPTS) throw error;
      }
    }
  }

  async #tail(jsm: JetStreamManager): Promise<Tail> {
    const message = await jsm.direct
      .getMessage(streamName('agent'), { last_by_subj: eventSubject('agent', this.#nodeId) })
      .catch((error: unknown) => {
        throw new AppError('unavailable', 'could not read the AGENT stream', { cause: error });
      });
    if (!message) return { position: EMPTY_POSITION, correlationId: undefined };
    const envelope = EventEnvelope.parse(message.json());
    return { position: { version: envelope.version, seq: message.seq }, correlationId: envelope.correlationId };
  }
}
