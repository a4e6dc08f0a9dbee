import {
  AppError,
  type Context,
  type EnvelopeOf,
  type EventOf,
  type EventSchemas,
  invalidInput,
  type RequestMeta,
} from '@agentpod/contracts';
import {
  type AggregatePosition,
  ConcurrencyError,
  EMPTY_POSITION,
  type EventStore,
  type StoredEvent,
} from './event-store.ts';

/**
 * An event-sourced aggregate: the schemas of its events, its initial state and the pure fold over them.
 * `decide` functions live beside it and are passed per command to `executeCommand`.
 */
export type AggregateDefinition<S, ES extends EventSchemas> = {
  context: Context;
  /** Event type name → schema of its `data`. Loading rejects an event whose data does not match. */
  events: ES;
  initialState: S;
  evolve: (state: S, event: EnvelopeOf<ES>) => S;
};

export type Decision<ES extends EventSchemas> = EventOf<ES>[] | AppError;

export type Loaded<S> = { state: S; position: AggregatePosition };

/** Validates a stored event's data against the aggregate's schema for its type. */
export function typedEvent<S, ES extends EventSchemas>(
  aggregate: AggregateDefinition<S, ES>,
  stored: StoredEvent,
): EnvelopeOf<ES> {
  const { envelope } = stored;
  const schema = aggregate.events[envelope.type];
  if (!schema) {
    throw new AppError('internal', `event ${envelope.type} (seq ${stored.seq}) is not an event of this aggregate`);
  }
  const data = schema.safeParse(envelope.data);
  if (!data.success) throw invalidInput(data.error, `event ${envelope.type} (seq ${stored.seq})`);
  return { ...envelope, data: data.data } as EnvelopeOf<ES>;
}

/**
 * Loads aggregates by folding their events, keeping the last folded state of recently used aggregates in
 * memory so a command usually costs one look-up of the last sequence plus the append.
 */
export class AggregateRepository<S, ES extends EventSchemas> {
  readonly #cache = new Map<string, Loaded<S>>();
  readonly #store: EventStore;
  readonly #aggregate: AggregateDefinition<S, ES>;
  readonly #cacheSize: number;

  constructor(store: EventStore, aggregate: AggregateDefinition<S, ES>, options: { cacheSize?: number } = {}) {
    this.#store = store;
    this.#aggregate = aggregate;
    this.#cacheSize = options.cacheSize ?? 1_000;
  }

  get definition(): AggregateDefinition<S, ES> {
    return this.#aggregate;
  }

  async load(aggregateId: string): Promise<Loaded<S>> {
    const cached = this.#cache.get(aggregateId);
    const start: Loaded<S> = cached ?? { state: this.#aggregate.initialState, position: EMPTY_POSITION };
    const events = await this.#store.read(this.#aggregate.context, aggregateId, start.position.seq);
    const loaded = this.#fold(start, events);
    this.#remember(aggregateId, loaded);
    return loaded;
  }

  /** Folds events that were just appended, so the next load need not read them back. */
  applyAppended(aggregateId: string, from: Loaded<S>, stored: StoredEvent[]): Loaded<S> {
    const loaded = this.#fold(from, stored);
    this.#remember(aggregateId, loaded);
    return loaded;
  }

  forget(aggregateId: string): void {
    this.#cache.delete(aggregateId);
  }

  #fold(start: Loaded<S>, events: StoredEvent[]): Loaded<S> {
    let { state, position } = start;
    for (const stored of events) {
      state = this.#aggregate.evolve(state, typedEvent(this.#aggregate, stored));
      position = { version: stored.envelope.version, seq: stored.seq };
    }
    return { state, position };
  }

  #remember(aggregateId: string, loaded: Loaded<S>): void {
    this.#cache.delete(aggregateId);
    this.#cache.set(aggregateId, loaded);
    if (this.#cache.size > this.#cacheSize) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
  }
}

export type CommandOutcome<S> = Loaded<S> & { events: StoredEvent[] };

/**
 * Load → decide → append, retried on a concurrent write: each retry decides again on fresh state.
 * After `attempts` lost races it gives up with `conflict`. `decide` must be pure.
 */
export async function executeCommand<S, ES extends EventSchemas>(options: {
  store: EventStore;
  repository: AggregateRepository<S, ES>;
  aggregateId: string;
  meta: RequestMeta;
  decide: (state: S, now: Date) => Decision<ES>;
  clock?: () => Date;
  attempts?: number;
}): Promise<CommandOutcome<S>> {
  const { store, repository, aggregateId, meta } = options;
  const attempts = options.attempts ?? 5;
  const clock = options.clock ?? (() => new Date());
  for (let attempt = 1; ; attempt++) {
    const loaded = await repository.load(aggregateId);
    const now = clock();
    const decision = options.decide(loaded.state, now);
    if (decision instanceof AppError) throw decision;
    if (decision.length === 0) return { ...loaded, events: [] };
    try {
      const { stored } = await store.append(repository.definition.context, aggregateId, decision, {
        expected: loaded.position,
        meta,
        now,
      });
      return { ...repository.applyAppended(aggregateId, loaded, stored), events: stored };
    } catch (error) {
      if (!(error instanceof ConcurrencyError)) throw error;
      // The cached state is still right as of its position: the next load folds only the events the other
      // writer appended, instead of the aggregate's whole history.
      if (attempt >= attempts) {
        throw new AppError(
          'conflict',
          `${aggregateId} kept changing while this command ran (${attempts} attempts); try again`,
          {
            cause: error,
          },
        );
      }
    }
  }
}
