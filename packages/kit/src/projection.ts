import { type Context, EventEnvelope, eventSubjects } from '@agentpod/contracts';
import type { JsMsg } from '@nats-io/jetstream';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { StoredEvent } from './event-store.ts';
import type { Logger } from './logger.ts';
import { backoffDelay } from './retry.ts';

/**
 * A read model fed by one stream. `apply` writes a batch of events in the given transaction; the kit commits
 * it together with the checkpoint. `apply` must be deterministic (same events → same rows) so a replay
 * rebuilds exactly what the live projection wrote, and must accept every event: an event is a fact.
 */
export type Projection<DB = unknown> = {
  /** Unique within the service; names the checkpoint and the durable consumer. `[a-z0-9_-]` only. */
  name: string;
  context: Context;
  /** Subject filter inside the stream; defaults to every event of the context. */
  filter?: string;
  apply: (tx: Transaction<DB>, events: StoredEvent[]) => Promise<void>;
};

export const projectionFilter = (projection: Pick<Projection, 'filter' | 'context'>): string =>
  projection.filter ?? eventSubjects(projection.context);

/** Events before this sequence are already in the read model. */
export async function readCheckpoint(db: Kysely<unknown>, projection: string): Promise<number> {
  const row = await sql<{ seq: number }>`select seq from _checkpoints where projection = ${projection}`.execute(db);
  return row.rows[0]?.seq ?? 0;
}

const decoder = new TextDecoder();

/**
 * Applies one batch of messages and moves the checkpoint, in one transaction. Messages at or below the
 * checkpoint were applied before a crash or by another leader and are skipped, so each event is applied
 * exactly once. A message that is not a valid envelope is recorded in `_dead_letters` and skipped: it is not
 * a fact of this system. Returns how many events were applied.
 */
export async function applyBatch<DB>(
  db: Kysely<DB>,
  projection: Projection<DB>,
  messages: readonly Pick<JsMsg, 'seq' | 'subject' | 'data'>[],
): Promise<number> {
  const last = messages.at(-1);
  if (!last) return 0;
  return db.transaction().execute(async (tx) => {
    await sql`insert into _checkpoints (projection, seq) values (${projection.name}, 0) on conflict do nothing`.execute(
      tx,
    );
    const checkpoint = await sql<{ seq: number }>`
      select seq from _checkpoints where projection = ${projection.name} for update`.execute(tx);
    const applied = checkpoint.rows[0]?.seq ?? 0;
    const events: StoredEvent[] = [];
    for (const message of messages) {
      if (message.seq <= applied) continue;
      const text = decoder.decode(message.data);
      const envelope = parseEnvelope(text);
      if (envelope.ok) {
        events.push({ envelope: envelope.value, seq: message.seq });
      } else {
        await sql`insert into _dead_letters (projection, seq, subject, error, payload)
          values (${projection.name}, ${message.seq}, ${message.subject}, ${envelope.error}, ${text.slice(0, 65_536)})
          on conflict do nothing`.execute(tx);
      }
    }
    if (events.length > 0) await projection.apply(tx, events);
    if (last.seq > applied) {
      await sql`update _checkpoints set seq = ${last.seq}, updated_at = now() where projection = ${projection.name}`.execute(
        tx,
      );
    }
    return events.length;
  });
}

function parseEnvelope(text: string): { ok: true; value: EventEnvelope } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  const result = EventEnvelope.safeParse(json);
  return result.success
    ? { ok: true, value: result.data }
    : { ok: false, error: result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
}

/**
 * Feeds messages to `flush` in batches: a batch closes when it is full or when the consumer says nothing more
 * is pending, so catch-up runs in large transactions and live events are applied at once.
 * `flush` is retried with backoff until it succeeds (a database outage pauses the projection; it never skips).
 */
export async function consumeInBatches(options: {
  messages: AsyncIterable<JsMsg>;
  batchSize: number;
  flush: (batch: JsMsg[]) => Promise<void>;
  logger: Logger;
  signal: AbortSignal;
  /** Stop once the consumer reports nothing pending (replay); run forever when false. */
  stopWhenCaughtUp?: boolean;
}): Promise<void> {
  let batch: JsMsg[] = [];
  const flushWithRetry = async () => {
    for (let attempt = 0; ; attempt++) {
      try {
        await options.flush(batch);
        batch = [];
        return;
      } catch (error) {
        if (options.signal.aborted) throw error;
        const delay = backoffDelay({ initialMs: 200, maxMs: 10_000 }, attempt);
        options.logger.error({ err: error, retryInMs: delay }, 'projection batch failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  };
  for await (const message of options.messages) {
    batch.push(message);
    const done = options.stopWhenCaughtUp === true && message.info.pending === 0;
    if (batch.length >= options.batchSize || message.info.pending === 0 || done) await flushWithRetry();
    if (done || options.signal.aborted) return;
  }
  if (batch.length > 0 && !options.signal.aborted) await flushWithRetry();
}
