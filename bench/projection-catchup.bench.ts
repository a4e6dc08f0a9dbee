import { type EventEnvelope, newId } from '@agentpod/contracts';
import {
  connectPostgres,
  createLogger,
  ensureStreams,
  type Migrations,
  migrateSchema,
  type Projection,
  Projector,
} from '@agentpod/kit';
import { createTestDatabase, startNatsServer } from '@agentpod/kit/testing';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { defineBenchmark, median, ratePerSecond, round3, spread } from './harness.ts';

/*
 * A projection catching up on a 100,000-event stream through the kit's Projector (durable consumer, batches
 * applied in one transaction with the checkpoint, envelopes parsed with zod) into a one-row-per-event read
 * model, against postgres.js inserting the same 100,000 rows into the same kind of table with multi-row
 * INSERTs of the same batch size. The baseline reads nothing from NATS: the ratio is what consuming, parsing
 * and checkpointing cost on top of the writes a read model needs anyway.
 */

const EVENTS = 100_000;
const AGGREGATES = 1_000;
/** The Projector's default batch size, used by both sides. */
const BATCH = 500;
const ROUNDS = 3;
const SCHEMA = 'bench_catchup';

type Row = { seq: number; aggregate_id: string; type: string; version: number; occurred_at: string; data: string };
type BenchDb = { read_model: Row; raw_model: Row };

const migrations: Migrations = {
  '0001_read_models': {
    async up(db) {
      for (const table of ['read_model', 'raw_model']) {
        await db.schema
          .createTable(table)
          .addColumn('seq', 'bigint', (c) => c.primaryKey())
          .addColumn('aggregate_id', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
          .addColumn('data', 'jsonb', (c) => c.notNull())
          .execute();
      }
    },
  },
};

const toRow = (envelope: EventEnvelope, seq: number): Row => ({
  seq,
  aggregate_id: envelope.aggregateId,
  type: envelope.type,
  version: envelope.version,
  occurred_at: envelope.occurredAt,
  data: JSON.stringify(envelope.data),
});

const projection: Projection<BenchDb> = {
  name: 'read_model',
  context: 'pods',
  async apply(tx, events) {
    await tx
      .insertInto('read_model')
      .values(events.map((event) => toRow(event.envelope, event.seq)))
      .execute();
  },
};

/** The stream's events, published with many in flight; returns the rows they map to, by sequence. */
async function fillStream(js: ReturnType<typeof jetstream>): Promise<Row[]> {
  const rows: Row[] = new Array(EVENTS);
  const started = Date.parse('2026-01-01T00:00:00Z');
  let next = 0;
  const publisher = async () => {
    for (let i = next++; i < EVENTS; i = next++) {
      const envelope: EventEnvelope = {
        id: newId(),
        type: 'PodScaled',
        aggregateId: `pod-${i % AGGREGATES}`,
        tenantId: `tenant-${i % 37}`,
        actor: { kind: 'user', id: `user-${i % 101}` },
        occurredAt: new Date(started + i * 1_000).toISOString(),
        correlationId: `corr-${i}`,
        causationId: `corr-${i}`,
        version: Math.floor(i / AGGREGATES) + 1,
        data: { replicas: (i % 5) + 1, image: 'ghcr.io/example/agent:1.2.3', reason: 'scheduled scale' },
      };
      const ack = await js.publish(`pods.evt.${envelope.aggregateId}`, JSON.stringify(envelope));
      rows[ack.seq - 1] = toRow(envelope, ack.seq);
    }
  };
  await Promise.all(Array.from({ length: 256 }, publisher));
  return rows;
}

export default defineBenchmark({
  name: 'projection-catchup',
  description: `events/s applied to PostgreSQL by the kit's Projector from a ${EVENTS}-event stream vs raw multi-row INSERTs`,
  target: { ratio: '>=', value: 0.5 },
  async run({ defer, log, signal }) {
    const server = await startNatsServer();
    defer(() => server.stop());
    const database = await createTestDatabase('agentpod_bench');
    defer(() => database.drop());
    const nc = await connect({ servers: server.url });
    defer(() => nc.close());
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, ['pods']);

    const logger = createLogger('bench', 'warn');
    const { sql, db } = await connectPostgres<BenchDb>({ url: database.url, logger, schema: SCHEMA, name: 'bench' });
    defer(() => sql.end({ timeout: 5 }));
    await migrateSchema({ sql, db: db as never, schema: SCHEMA, migrations });

    const filled = performance.now();
    const rows = await fillStream(js);
    log(`stream filled with ${EVENTS} events in ${((performance.now() - filled) / 1000).toFixed(1)} s`);

    const reset = async () => {
      await sql`truncate read_model, raw_model`;
      await sql`delete from _checkpoints`;
    };
    const countOf = async (table: 'read_model' | 'raw_model') => {
      const result = await db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirst();
      return Number(result?.n);
    };

    /** Applies the stream from sequence 1 until `events` are in the read model; returns events/s. */
    const kitRound = async (events: number) => {
      const projector = new Projector<BenchDb>({
        service: 'bench',
        schema: SCHEMA,
        projection,
        db,
        sql,
        js,
        jsm,
        logger,
        batchSize: BATCH,
      });
      defer(() => projector.stop());
      const rate = await ratePerSecond(events, async () => {
        projector.start();
        await projector.waitFor(events, 120_000);
      });
      await projector.stop();
      return rate;
    };
    const rawRound = (events: number) =>
      ratePerSecond(events, async () => {
        for (let start = 0; start < events; start += BATCH) {
          await sql`insert into raw_model ${sql(rows.slice(start, Math.min(start + BATCH, events)))}`;
        }
      });
    const checkComplete = async () => {
      for (const table of ['read_model', 'raw_model'] as const) {
        const count = await countOf(table);
        if (count !== EVENTS) throw new Error(`${table} holds ${count} rows after a round, not ${EVENTS}`);
      }
    };

    // The first pass through each path is slower (JIT, cold caches): warm both up on a fifth of the stream.
    await reset();
    const warmKit = await kitRound(EVENTS / 5);
    const warmRaw = await rawRound(EVENTS / 5);
    log(`warm-up on ${EVENTS / 5} events: kit ${Math.round(warmKit)}/s, raw ${Math.round(warmRaw)}/s (not counted)`);

    const kit: number[] = [];
    const raw: number[] = [];
    for (let round = 0; round < ROUNDS && !signal.aborted; round++) {
      await reset();
      const sides = [async () => kit.push(await kitRound(EVENTS)), async () => raw.push(await rawRound(EVENTS))];
      // Alternate which side goes first, so neither always meets a busier server (autovacuum, checkpoints).
      for (const side of round % 2 === 0 ? sides : sides.reverse()) await side();
      await checkComplete();
      log(`round ${round + 1}/${ROUNDS}: kit ${Math.round(kit.at(-1) ?? 0)}/s, raw ${Math.round(raw.at(-1) ?? 0)}/s`);
    }
    if (signal.aborted) throw new Error('interrupted');

    const value = median(kit);
    const baseline = median(raw);
    return {
      value: Math.round(value),
      unit: 'events/s',
      baseline: Math.round(baseline),
      ratio: round3(value / baseline),
      notes:
        `median of ${ROUNDS} alternating rounds after a warm-up on a fifth of the stream; each applies all ${EVENTS} events (${AGGREGATES} aggregates) from ` +
        `sequence 1 in batches of ${BATCH}, timed from Projector.start() to the checkpoint reaching the last ` +
        `event; baseline: the same rows by postgres.js multi-row INSERT, one statement per ${BATCH}; ` +
        `kit per round ${spread(kit)}/s, raw ${spread(raw)}/s`,
    };
  },
});
