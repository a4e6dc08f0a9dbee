import { type Context, type EventEnvelope, eventSubject, newId } from '@agentpod/contracts';
import type { JetStreamClient } from '@nats-io/jetstream';
import { sql } from 'kysely';
import type { Migrations } from '../migrations.ts';
import type { Projection } from '../projection.ts';

/*
 * Fixtures of the projection tests (kit's own tests only; not exported by `@agentpod/kit/testing`).
 * The read model is a plain log with no unique constraint, so a duplicate application shows up as an extra row
 * instead of being hidden by an upsert.
 */

export type AppliedDB = {
  applied: { seq: number; event_id: string; aggregate_id: string; n: number };
};

export const appliedMigrations: Migrations = {
  '0001_applied': {
    async up(db) {
      await db.schema
        .createTable('applied')
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('aggregate_id', 'text', (c) => c.notNull())
        .addColumn('n', 'integer', (c) => c.notNull())
        .execute();
    },
  },
};

/**
 * Appends one row per event, then optionally waits inside the batch's transaction: `sleepMs` after every batch
 * (a slow read model), and `stallMs` after the batch holding stream sequence `stallAtSeq`, in a query a test can
 * find in pg_stat_activity by its `stalled_batch` alias, to kill the process while that batch is written but not
 * committed.
 */
export function recordingProjection(
  options: { name?: string; context?: Context; sleepMs?: number; stallAtSeq?: number; stallMs?: number } = {},
) {
  const projection: Projection<AppliedDB> = {
    name: options.name ?? 'recorder',
    context: options.context ?? 'pods',
    async apply(tx, events) {
      await tx
        .insertInto('applied')
        .values(
          events.map(({ envelope, seq }) => ({
            seq,
            event_id: envelope.id,
            aggregate_id: envelope.aggregateId,
            n: (envelope.data as { n: number }).n,
          })),
        )
        .execute();
      if (options.sleepMs) await sql`select pg_sleep(${options.sleepMs / 1000})`.execute(tx);
      if (options.stallMs && events.some((event) => event.seq === options.stallAtSeq)) {
        await sql`select pg_sleep(${options.stallMs / 1000}) as stalled_batch`.execute(tx);
      }
    },
  };
  return projection;
}

/** Publishes `count` valid envelopes numbered `from`…, spread over `aggregates` subjects; returns the last seq. */
export async function publishNumbered(
  js: JetStreamClient,
  options: { context?: Context; count: number; from?: number; aggregates?: number },
): Promise<number> {
  const context = options.context ?? 'pods';
  const from = options.from ?? 0;
  const aggregates = options.aggregates ?? 20;
  let last = 0;
  // Windows of concurrent publishes: fast, and the stream order within one window does not matter here.
  const window = 100;
  for (let start = from; start < from + options.count; start += window) {
    const end = Math.min(start + window, from + options.count);
    const acks = await Promise.all(
      Array.from({ length: end - start }, (_, k) => {
        const n = start + k;
        const aggregateId = `agg-${n % aggregates}`;
        const envelope: EventEnvelope = {
          id: newId(),
          type: 'Numbered',
          aggregateId,
          actor: { kind: 'system', id: 'test' },
          occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
          correlationId: `c-${n}`,
          causationId: `c-${n}`,
          version: Math.floor(n / aggregates) + 1,
          data: { n },
        };
        return js.publish(eventSubject(context, aggregateId), JSON.stringify(envelope));
      }),
    );
    last = Math.max(last, ...acks.map((ack) => ack.seq));
  }
  return last;
}
