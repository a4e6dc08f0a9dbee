import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { BaseEnv } from './config.ts';
import { EventStore } from './event-store.ts';
import { createLogger } from './logger.ts';
import { type RunningService, runService } from './service.ts';
import { ensureStreams } from './streams.ts';
import { createTestDatabase, startNatsServer, type TestDatabase, type TestNatsServer } from './testing/index.ts';
import { definition, type ReadModel, Workload } from './testing/replay-fixtures.ts';

/*
 * The service of replay-fixtures.ts (two read models over two streams, with inserts, updates, upserts and
 * deletes) runs live over a few thousand events; its read models are then rebuilt from the log and compared.
 */

describe('replay', () => {
  let server: TestNatsServer;
  let database: TestDatabase;
  let nc: NatsConnection;
  let service: RunningService<ReadModel, BaseEnv> | undefined;
  let workload: Workload;

  const lastSeqs = async () => {
    const jsm = await jetstreamManager(nc);
    return {
      pods: (await jsm.streams.info('PODS')).state.last_seq,
      tenants: (await jsm.streams.info('TENANTS')).state.last_seq,
    };
  };
  const caughtUp = async () => {
    const seqs = await lastSeqs();
    assert.ok(service);
    await service.runtime.caughtUp('pods', seqs.pods, 120_000);
    await service.runtime.caughtUp('tenants', seqs.tenants, 120_000);
  };
  const pool = () => {
    assert.ok(service);
    return service.runtime.sql;
  };
  // Ordered by code point, as the expected rows are sorted in JS, whatever the database's collation.
  const liveRows = (table: 'items' | 'teams') => pool().unsafe(`select * from pods.${table} order by id collate "C"`);
  const schemaExists = async (schema: string) =>
    (await pool()`select 1 from pg_namespace where nspname = ${schema}`).length === 1;

  before(async () => {
    server = await startNatsServer();
    database = await createTestDatabase();
    nc = await connect({ servers: server.url });
    await ensureStreams(await jetstreamManager(nc), ['pods', 'tenants']);
    workload = new Workload(new EventStore(jetstream(nc), await jetstreamManager(nc)));
    // Half the log exists before the service starts (catch-up), half arrives while it runs (live batches).
    await workload.run(4, 450, 1);
    service = await runService(definition, {
      env: { AGENTPOD_NATS_URL: server.url, AGENTPOD_DATABASE_URL: database.url, AGENTPOD_LOG_LEVEL: 'error' },
      logger: createLogger('pods', 'error'),
    });
    await workload.run(4, 450, 101);
    await caughtUp();
  });
  after(async () => {
    await service?.stop();
    await nc?.close();
    await server?.stop();
    await database?.drop();
  });

  test('the live projection holds exactly the rows its events imply', async () => {
    const rows = await liveRows('items');
    assert.ok(workload.expected.size > 50, `a sizeable read model (${workload.expected.size} items)`);
    assert.deepEqual(
      rows.map((r) => [r.id, { name: r.name, qty: r.qty, tags: r.tags }]),
      [...workload.expected].sort(([a], [b]) => (a < b ? -1 : 1)),
    );
  });

  test('replaying a read model yields exactly the rows of the live projection', async () => {
    assert.ok(service);
    const report = await service.runtime.replay({ compare: true, swap: false });
    assert.equal(report.events, workload.events, 'every event applied once in the rebuild');
    assert.equal(report.identical, true);
    assert.equal(report.swapped, false);
    const items = (await liveRows('items')).length;
    const teams = (await liveRows('teams')).length;
    assert.deepEqual(report.comparison, [
      { table: 'items', live: items, rebuilt: items, onlyLive: 0, onlyRebuilt: 0 },
      { table: 'teams', live: teams, rebuilt: teams, onlyLive: 0, onlyRebuilt: 0 },
    ]);
    assert.equal(await schemaExists('pods__replay'), false, 'the shadow schema is dropped');
  });

  test('a swap leaves the live schema with identical rows, and the projections carry on from it', async () => {
    assert.ok(service);
    const itemsBefore = await liveRows('items');
    const teamsBefore = await liveRows('teams');
    const report = await service.runtime.replay({ compare: true, swap: true });
    assert.equal(report.swapped, true);
    assert.equal(report.identical, true);
    assert.deepEqual(await liveRows('items'), itemsBefore);
    assert.deepEqual(await liveRows('teams'), teamsBefore);
    assert.equal(await schemaExists('pods__replay'), false);

    // The restarted projectors read the swapped-in checkpoints: new events are applied once, old ones not again.
    await workload.run(2, 60, 201);
    await caughtUp();
    assert.deepEqual(
      (await liveRows('items')).map((r) => [r.id, { name: r.name, qty: r.qty, tags: r.tags }]),
      [...workload.expected].sort(([a], [b]) => (a < b ? -1 : 1)),
    );
  });

  test('the comparison finds rows the live projection got wrong, and a swap repairs them', async () => {
    assert.ok(service);
    const { sql: db } = service.runtime;
    await db`update pods.items set qty = qty + 1000 where id = (select min(id) from pods.items)`;
    await db`delete from pods.teams where id = (select min(id) from pods.teams)`;
    const broken = await service.runtime.replay({ compare: true, swap: false });
    assert.equal(broken.identical, false);
    const byTable = Object.fromEntries((broken.comparison ?? []).map((c) => [c.table, c]));
    assert.deepEqual(
      { onlyLive: byTable.items?.onlyLive, onlyRebuilt: byTable.items?.onlyRebuilt },
      { onlyLive: 1, onlyRebuilt: 1 },
    );
    const teams = byTable.teams;
    assert.ok(teams);
    assert.deepEqual([teams.live, teams.onlyLive, teams.onlyRebuilt], [teams.rebuilt - 1, 0, 1]);

    const repaired = await service.runtime.replay({ compare: true, swap: true });
    assert.equal(repaired.identical, false, 'compared before the swap');
    const again = await service.runtime.replay({ compare: true, swap: false });
    assert.equal(again.identical, true);
  });
});
