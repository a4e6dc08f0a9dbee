import { z } from 'zod';
import { Actor } from './actor.ts';
import { AggregateId } from './ids.ts';

/**
 * Every event in the log travels in this envelope. `data` is validated by the schema registered for `type`.
 * Invariants: `id` is unique (it is also the JetStream `Nats-Msg-Id`), and `version` is the aggregate's
 * version after this event: the first event of an aggregate has version 1 and versions have no gaps.
 */
export const EventEnvelope = z.object({
  /** UUID v7 of the event. */
  id: z.uuid(),
  /** Past-tense event name, e.g. `PodCreated`. */
  type: z.string().regex(/^[A-Z][A-Za-z0-9]{1,80}$/),
  aggregateId: AggregateId,
  /** The tenant the event belongs to, when it belongs to one: the key of tenant-scoped reads. */
  tenantId: z.string().optional(),
  actor: Actor,
  /** ISO-8601 time the decision was taken. */
  occurredAt: z.iso.datetime({ offset: true }),
  /** Shared by everything one request caused, across services. */
  correlationId: z.string().min(1),
  /** Id of the command or event that directly caused this one. */
  causationId: z.string().min(1),
  /** Aggregate version after this event (1-based, gap-free per aggregate). */
  version: z.number().int().positive(),
  data: z.unknown(),
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;

/** An envelope whose `data` has been validated as `T`. */
export type TypedEnvelope<Type extends string = string, T = unknown> = Omit<EventEnvelope, 'type' | 'data'> & {
  type: Type;
  data: T;
};

/** The part of an event a decider produces: the runtime adds id, actor, times, version. */
export type NewEvent<Type extends string = string, T = unknown> = {
  type: Type;
  data: T;
  tenantId?: string;
};

/** Maps event type names to the zod schemas of their `data`. */
export type EventSchemas = Record<string, z.ZodType>;

/** Builds a discriminated union type of `{ type, data }` from an event-schema map. */
export type EventOf<S extends EventSchemas> = {
  [K in keyof S & string]: { type: K; data: z.infer<S[K]>; tenantId?: string };
}[keyof S & string];

export type EnvelopeOf<S extends EventSchemas> = {
  [K in keyof S & string]: TypedEnvelope<K, z.infer<S[K]>>;
}[keyof S & string];
