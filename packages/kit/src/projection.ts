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

/** A message decoded as it arrives: an event to apply, or a dead letter to record (it is not a fact of ours). */
export type DecodedMessage = { seq: number; subject: string } & (
  | { ok: true; event: StoredEvent }
  | { ok: false; error: string; payload: string }
);

export function decodeMessage(message: Pick<JsMsg, 'seq' | 'subject' | 'data'>): DecodedMessage {
  const text = decoder.decode(message.data);
  const envelope = parseEnvelope(text);
  const { seq, subject } = message;
  return envelope.ok
    ? { seq, subject, ok: true, event: { envelope: envelope.value, seq } }
    : { seq, subject, ok: false, error: envelope.error, payload: storableText(text) };
}

/**
 * Applies one batch and moves the checkpoint, in one transaction. Messages at or below the checkpoint were
 * applied before a crash or by another leader and are skipped, so each event is applied exactly once. A dead
 * letter is recorded in `_dead_letters` and skipped. Returns how many events were applied.
 */
export async function applyBatch<DB>(
  db: Kysely<DB>,
  projection: Projection<DB>,
  batch: readonly DecodedMessage[],
): Promise<number> {
  const last = batch.at(-1);
  if (!last) return 0;
  return db.transaction().execute(async (tx) => {
    // One round trip that creates the checkpoint row if needed and locks it (ON CONFLICT DO UPDATE locks the
    // latest committed version), so a second leader waits here instead of applying the same events.
    const checkpoint = await sql<{ seq: number }>`
      insert into _checkpoints (projection, seq) values (${projection.name}, 0)
      on conflict (projection) do update set projection = excluded.projection
      returning seq`.execute(tx);
    const applied = checkpoint.rows[0]?.seq ?? 0;
    const events: StoredEvent[] = [];
    for (const message of batch) {
      if (message.seq <= applied) continue;
      if (message.ok) {
        events.push(message.event);
      } else {
        await sql`insert into _dead_letters (projection, seq, subject, error, payload)
          values (${projection.name}, ${message.seq}, ${message.subject}, ${message.error}, ${message.payload})
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

/** PostgreSQL text cannot hold NUL: a payload carrying one would fail the batch forever, so it is replaced. */
const storableText = (text: string): string => text.slice(0, 65_536).replaceAll('\u0000', '\uFFFD');

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

/** A batch ready to apply, and the message to acknowledge once it is committed. */
export type Batch = { messages: DecodedMessage[]; last: JsMsg };

/**
 * Feeds messages to `flush` in batches: a batch closes when it is full or when the consumer says nothing more
 * is pending, so catch-up runs in large transactions and live events are applied at once. Batches are flushed
 * one at a time and in order, but the next batch is received and decoded while the previous one commits.
 * `flush` is retried with backoff until it succeeds (a database outage pauses the projection; it never skips).
 */
export async function consumeInBatches(options: {
  messages: AsyncIterable<JsMsg>;
  batchSize: number;
  flush: (batch: Batch) => Promise<void>;
  logger: Logger;
  signal: AbortSignal;
  /** Stop once the consumer reports nothing pending (replay); run forever when false. */
  stopWhenCaughtUp?: boolean;
}): Promise<void> {
  const flushWithRetry = async (batch: Batch) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await options.flush(batch);
        return;
      } catch (error) {
        if (options.signal.aborted) throw error;
        const delay = backoffDelay({ initialMs: 200, maxMs: 10_000 }, attempt);
        options.logger.error({ err: error, retryInMs: delay }, 'projection batch failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  };
  let inFlight: Promise<void> = Promise.resolve();
  let collecting: DecodedMessage[] = [];
  const submit = async (last: JsMsg) => {
    const batch = { messages: collecting, last };
    collecting = [];
    await inFlight;
    inFlight = flushWithRetry(batch);
    // Awaited by the next submit or at the end; until then a failure must not count as unhandled.
    inFlight.catch(() => {});
  };
  let last: JsMsg | undefined;
  for await (const message of options.messages) {
    collecting.push(decodeMessage(message));
    last = message;
    const caughtUp = message.info.pending === 0;
    if (collecting.length >= options.batchSize || caughtUp) await submit(message);
    if ((options.stopWhenCaughtUp === true && caughtUp) || options.signal.aborted) break;
  }
  if (collecting.length > 0 && last && !options.signal.aborted) await submit(last);
  await inFlight;
}
