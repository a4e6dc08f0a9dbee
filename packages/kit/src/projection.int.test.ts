import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Context } from '@agentpod/contracts';
import { type JetStreamClient, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { connectPostgres, type Database } from './connections.ts';
import { LeaderLocks } from './leader-locks.ts';
import { createLogger } from './logger.ts';
import { migrateSchema } from './migrations.ts';
import { Projector } from './projector.ts';
import { ensureStreams } from './streams.ts';
import { createTestDatabase, startNatsServer, type TestDatabase, type TestNatsServer } from './testing/index.ts';
import {
  type AppliedDB,
  appliedMigrations,
  publishNumbered,
  recordingProjection,
} from './testing/projection-fixtures.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const childScript = fileURLToPath(new URL('./testing/projector-child.ts', import.meta.url));
const logger = createLogger('pods', 'error');

/** Polls `check` until it holds; fails after `timeoutMs` with `describe()` (e.g. a child's output) in the message. */
async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  options: { timeoutMs?: number; describe?: () => string } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}\n${options.describe?.() ?? ''}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** What a read model holds: rows, distinct events, the seq range, and the checkpoint. */
async function readModel(database: Database<AppliedDB>) {
  const [row] = await database.sql<{ rows: number; events: number; max_seq: number | null; checkpoint: number }[]>`
    select (select count(*) from applied)::int as rows,
           (select count(distinct event_id) from applied)::int as events,
           (select max(seq) from applied) as max_seq,
           coalesce((select seq from _checkpoints where projection = 'recorder'), 0) as checkpoint`;
  assert.ok(row);
  return row;
}

async function assertEveryEventOnce(database: Database<AppliedDB>, count: number, lastSeq: number): Promise<void> {
  const model = await readModel(database);
  assert.equal(model.rows, count, 'one row per event');
  assert.equal(model.events, count, 'no event applied twice');
  assert.equal(model.checkpoint, lastSeq, 'checkpoint at the last sequence of the stream');
  const [ns] = await database.sql<{ distinct_n: number; min_n: number; max_n: number }[]>`
    select count(distinct n)::int as distinct_n, min(n) as min_n, max(n) as max_n from applied`;
  assert.deepEqual(ns, { distinct_n: count, min_n: 0, max_n: count - 1 }, 'no event skipped');
}

describe('projections', () => {
  let server: TestNatsServer;
  let database: TestDatabase;
  let nc: NatsConnection;
  let js: JetStreamClient;

  before(async () => {
    server = await startNatsServer();
    database = await createTestDatabase();
    nc = await connect({ servers: server.url });
    js = jetstream(nc);
    await ensureStreams(await jetstreamManager(nc), ['pods', 'tenants', 'monitor']);
  });
  after(async () => {
    await nc?.close();
    await server?.stop();
    await database?.drop();
  });

  /** A migrated schema of the recording read model, with a pool on it closed when the test ends. */
  async function readModelSchema(t: TestContext, schema: string, name = `test-${schema}`) {
    const pool = await connectPostgres<AppliedDB>({ url: database.url, logger, schema, name, attempts: 3 });
    t.after(() => pool.sql.end({ timeout: 5 }));
    await migrateSchema({ sql: pool.sql, db: pool.db as never, schema, migrations: appliedMigrations });
    return pool;
  }

  /** A projector as one replica of a service runs it: its own NATS connection and PostgreSQL pool. */
  async function replica(
    t: TestContext,
    schema: string,
    context: Context,
    options: { sleepMs?: number; sharedLocks?: boolean } = {},
  ) {
    const replicaNc = await connect({ servers: server.url });
    const pool = await connectPostgres<AppliedDB>({ url: database.url, logger, schema, attempts: 3 });
    // As runService does: one lock connection for the service, checked often here so a lost one shows quickly.
    const locks = options.sharedLocks ? new LeaderLocks({ sql: pool.sql, logger, keepAliveMs: 100 }) : undefined;
    const projector = new Projector<AppliedDB>({
      ...(locks ? { locks } : {}),
      service: 'pods',
      schema,
      projection: recordingProjection({ context, ...options }),
      db: pool.db,
      sql: pool.sql,
      js: jetstream(replicaNc),
      jsm: await jetstreamManager(replicaNc),
      logger,
      batchSize: 100,
      leaderPollMs: 50,
    });
    t.after(async () => {
      await projector.stop();
      await locks?.close();
      await replicaNc.close();
      await pool.sql.end({ timeout: 5 });
    });
    return projector;
  }

  test('a projection killed in the middle of a batch and restarted ends with every event applied exactly once', async (t) => {
    const schema = 'crash';
    const count = 3_000;
    const batchSize = 250;
    const stallAtSeq = 1_700;
    const appName = `crash-child-${process.pid}`;
    const pool = await readModelSchema(t, schema);
    const lastSeq = await publishNumbered(js, { context: 'pods', count });
    assert.equal(lastSeq, count);

    let output = '';
    const child: ChildProcess = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', childScript], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        AGENTPOD_NATS_URL: server.url,
        AGENTPOD_DATABASE_URL: database.url,
        AGENTPOD_LOG_LEVEL: 'warn',
        FIXTURE_SCHEMA: schema,
        FIXTURE_APP_NAME: appName,
        FIXTURE_BATCH_SIZE: String(batchSize),
        FIXTURE_STALL_AT_SEQ: String(stallAtSeq),
        FIXTURE_STALL_MS: '3000',
      },
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    t.after(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const describeChild = () => `child exit ${child.exitCode ?? child.signalCode ?? 'none yet'}; output:\n${output}`;

    // The child sits inside the stalled batch's transaction: its rows are inserted, its commit has not happened.
    await waitUntil(
      'the child is inside the stalled batch',
      async () => {
        if (child.exitCode !== null) throw new Error(`the projector child exited early\n${describeChild()}`);
        const [row] = await pool.sql<{ stalled: boolean }[]>`
          select exists(select 1 from pg_stat_activity where application_name = ${appName}
            and state = 'active' and query like '%stalled_batch%') as stalled`;
        return row?.stalled === true;
      },
      { describe: describeChild },
    );
    const before = await readModel(pool);
    child.kill('SIGKILL');
    await exited;
    assert.equal(child.signalCode, 'SIGKILL');

    // What the crash left: whole batches only, consistent with the checkpoint, the stalled batch not among them.
    const crashed = await readModel(pool);
    assert.ok(crashed.checkpoint >= batchSize, `at least one batch committed before the crash (${crashed.checkpoint})`);
    assert.ok(crashed.checkpoint < stallAtSeq, `the stalled batch did not commit (${crashed.checkpoint})`);
    assert.equal(crashed.checkpoint, before.checkpoint);
    assert.equal(crashed.rows, crashed.checkpoint, 'the read model holds exactly the events up to the checkpoint');
    assert.equal(crashed.max_seq, crashed.checkpoint);

    // A fresh projector takes over (the killed one's transaction may still be open; it must wait, not duplicate).
    const restarted = await replica(t, schema, 'pods');
    restarted.start();
    await restarted.waitFor(lastSeq, 120_000);
    await assertEveryEventOnce(pool, count, lastSeq);
    const [letters] = await pool.sql<{ n: number }[]>`select count(*)::int as n from _dead_letters`;
    assert.equal(letters?.n, 0);
  });

  test('two projectors on one projection: one leads at a time, the other takes over and finishes', async (t) => {
    const schema = 'leaders';
    const count = 3_000;
    const pool = await readModelSchema(t, schema);
    const lastSeq = await publishNumbered(js, { context: 'tenants', count });
    const a = await replica(t, schema, 'tenants', { sleepMs: 50 });
    const b = await replica(t, schema, 'tenants', { sleepMs: 50 });
    const replicas = [a, b];

    let together = 0;
    let samples = 0;
    const sampler = setInterval(() => {
      samples++;
      if (a.status().leader && b.status().leader) together++;
    }, 2);
    t.after(() => clearInterval(sampler));

    a.start();
    b.start();
    await waitUntil('some batches are applied', async () => (await readModel(pool)).checkpoint >= 300);
    const leaders = replicas.filter((r) => r.status().leader);
    assert.equal(leaders.length, 1, 'exactly one leader');
    const [leader] = leaders;
    const follower = replicas.find((r) => r !== leader);
    assert.ok(leader && follower);
    assert.equal(follower.status().applied, 0, 'the follower applied nothing');
    const [locks] = await pool.sql<{ n: number }[]>`
      select count(*)::int as n from pg_locks
      where locktype = 'advisory' and granted and database = (select oid from pg_database where datname = current_database())`;
    assert.equal(locks?.n, 1, 'one projection lock held');

    await leader.stop();
    const handedOver = leader.status().checkpoint;
    assert.ok(handedOver < lastSeq, `the leader stopped before the end (${handedOver} of ${lastSeq})`);
    assert.equal(leader.status().applied, handedOver);
    await follower.waitFor(lastSeq, 120_000);
    clearInterval(sampler);

    assert.ok(follower.status().leader, 'the follower took over');
    assert.equal(follower.status().applied, count - handedOver, 'the follower applied exactly what was left');
    assert.ok(samples > 10, 'the sampler ran');
    assert.equal(together, 0, `both projectors led at once in ${together} of ${samples} samples`);
    await assertEveryEventOnce(pool, count, lastSeq);
  });

  test('a leader whose lock connection dies steps down and the other replica takes over', async (t) => {
    const schema = 'lostlock';
    const count = 2_000;
    const pool = await readModelSchema(t, schema);
    await ensureStreams(await jetstreamManager(nc), ['identity']);
    const lastSeq = await publishNumbered(js, { context: 'identity', count });
    const a = await replica(t, schema, 'identity', { sleepMs: 50, sharedLocks: true });
    const b = await replica(t, schema, 'identity', { sleepMs: 50, sharedLocks: true });
    a.start();
    b.start();
    await waitUntil('some batches are applied', async () => (await readModel(pool)).checkpoint >= 200);
    const leader = [a, b].find((r) => r.status().leader);
    const follower = [a, b].find((r) => r !== leader);
    assert.ok(leader && follower);

    // Kill the session holding the projection's advisory lock, as a PostgreSQL restart or a network cut would.
    const [killed] = await pool.sql<{ terminated: boolean }[]>`
      select pg_terminate_backend(pid) as terminated from pg_locks
      where locktype = 'advisory' and granted and database = (select oid from pg_database where datname = current_database())`;
    assert.equal(killed?.terminated, true);
    await waitUntil('the follower leads', async () => follower.status().leader);
    await follower.waitFor(lastSeq, 120_000);
    assert.ok(follower.status().applied > 0, 'the follower applied the rest');
    await assertEveryEventOnce(pool, count, lastSeq);
  });

  test('a message that is not an event lands in _dead_letters and the projection goes on', async (t) => {
    const schema = 'letters';
    const pool = await readModelSchema(t, schema);
    await publishNumbered(js, { context: 'monitor', count: 100 });
    const garbage: [string, Uint8Array | string][] = [
      ['monitor.evt.garbage', 'this is not JSON'],
      // Invalid UTF-8 with a NUL byte, which a PostgreSQL text column cannot hold.
      ['monitor.evt.garbage', new Uint8Array([0x00, 0xff, 0xfe, 0x7b, 0x00])],
      ['monitor.evt.garbage', JSON.stringify({ hello: 'world' })],
      ['monitor.evt.agg-1', JSON.stringify({ id: 'not-a-uuid', type: 'Numbered', version: 0, data: { n: -1 } })],
    ];
    const garbageSeqs: number[] = [];
    for (const [subject, payload] of garbage) garbageSeqs.push((await js.publish(subject, payload)).seq);
    const lastSeq = await publishNumbered(js, { context: 'monitor', count: 100, from: 100 });

    const projector = await replica(t, schema, 'monitor');
    projector.start();
    await projector.waitFor(lastSeq);

    const [model] = await pool.sql<{ rows: number; events: number; checkpoint: number }[]>`
      select (select count(*) from applied)::int as rows, (select count(distinct event_id) from applied)::int as events,
             (select seq from _checkpoints where projection = 'recorder') as checkpoint`;
    assert.deepEqual(model, { rows: 200, events: 200, checkpoint: lastSeq });
    const letters = await pool.sql<
      { projection: string; seq: number; subject: string; error: string; payload: string }[]
    >`
      select projection, seq, subject, error, payload from _dead_letters order by seq`;
    assert.deepEqual(
      letters.map((l) => [l.projection, l.seq, l.subject]),
      garbage.map(([subject], i) => ['recorder', garbageSeqs[i], subject]),
    );
    assert.equal(letters[0]?.error, 'not JSON');
    assert.equal(letters[0]?.payload, 'this is not JSON');
    assert.equal(letters[1]?.error, 'not JSON');
    assert.equal(
      letters[1]?.payload,
      '\uFFFD\uFFFD\uFFFD{\uFFFD',
      'NUL and invalid UTF-8 kept as replacement characters',
    );
    assert.match(letters[2]?.error ?? '', /^id: /);
    assert.match(letters[3]?.error ?? '', /version/);
    assert.equal(projector.status().applied, 200);
  });

  test('stop() at any moment of start-up returns, and a restarted projector carries on', async (t) => {
    const schema = 'stopping';
    const pool = await readModelSchema(t, schema);
    // A stream of its own, so the count below is this test's events only.
    await ensureStreams(await jetstreamManager(nc), ['ai']);
    const lastSeq = await publishNumbered(js, { context: 'ai', count: 300 });
    const projector = await replica(t, schema, 'ai');
    // Each delay lands stop() in another phase: taking the lock, creating the consumer, consuming.
    for (const delayMs of [0, 1, 3, 5, 10, 20, 50]) {
      projector.start();
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      const stopped = await Promise.race([
        projector.stop().then(() => 'stopped'),
        new Promise((resolve) => setTimeout(resolve, 10_000, 'hung')),
      ]);
      assert.equal(stopped, 'stopped', `stop() ${delayMs} ms after start()`);
    }
    projector.start();
    await projector.waitFor(lastSeq);
    const model = await readModel(pool);
    assert.equal(model.rows, 300);
    assert.equal(model.events, 300);
  });
});
