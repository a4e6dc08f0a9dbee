import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { querySubject, type Series, type TopRow } from '@agentpod/contracts';
import { type RunningService, runService } from '@agentpod/kit';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { MonitorDb } from '../db.ts';
import type { MonitorEnv } from '../env.ts';
import { monitorService } from '../index.ts';
import { eventually, person, type Stack, startStack } from '../testing/stack.testing.ts';
import { MetricsIngester } from './ingester.ts';
import { DELETE_CHUNK, rollUpAndExpire } from './rollup.ts';
import { container, encode, message, NODE_A, NODE_B, sample } from './samples.testing.ts';
import { bucketStart, DAY_MS, HOUR_MS, MINUTE_MS } from './time.ts';

/*
 * The metrics part of the monitor on a private nats-server and a fresh database: messages published on
 * agent.<node>.metrics as the gateway would, stored by the ingester; roll-ups and retention run by hand at chosen
 * times (the fake clock), far enough ahead that the service's own job, on the real clock, cannot interfere.
 */

const qry = (name: string) => querySubject('monitor', name);
const viewer = person('vera');
const stranger = person('gus');
const platformAdmin = person('root', { platformAdmin: true });
const web = { tenantId: 'acme', podId: 'web' };
const api = { tenantId: 'globex', podId: 'api' };

type Stats = { storedSamples: number; droppedMessages: Record<string, number> };
const near = (actual: number | null | undefined, expected: number, what: string) =>
  assert.ok(Math.abs((actual ?? Number.NaN) - expected) < 1e-6, `${what}: ${actual} is not ${expected}`);

describe('monitor: metrics ingestion, roll-ups, retention and queries (real NATS, PostgreSQL)', () => {
  let stack: Stack;
  let publisher: NatsConnection;
  /** An hour boundary 3 to 4 hours ago: inside the raw retention, complete for roll-ups. */
  const base = bucketStart(Date.now() - 3 * HOUR_MS, HOUR_MS).getTime();
  const at = (offsetMs: number) => new Date(base + offsetMs);

  const sql = () => stack.monitor.runtime.sql;
  const publish = async (subject: string, data: Uint8Array) => {
    publisher.publish(subject, data);
    await publisher.flush();
  };
  const send = (nodeId: string, samples: ReturnType<typeof sample>[]) =>
    publish(`agent.${nodeId}.metrics`, encode(message(nodeId, samples)));
  const stats = () => stack.call<Stats>(qry('metricsStats'), {});
  const count = async (table: string, where = 'true') =>
    Number((await sql().unsafe(`select count(*)::int as n from ${table} where ${where}`))[0]?.n);
  const waitForRows = (table: string, where: string, n: number) =>
    eventually(`${n} rows in ${table} where ${where}`, async () =>
      (await count(table, where)) >= n ? true : undefined,
    );

  before(async () => {
    stack = await startStack();
    publisher = await connect({ servers: stack.nats.url });
    await stack.tenant('acme', { olive: 'owner', vera: 'viewer' });
    await stack.tenant('globex', { gus: 'owner' });
  });
  after(async () => {
    await publisher?.close();
    await stack?.stop();
  });

  test('published samples are stored: one node row per round, one row per labelled container', async () => {
    // Two minutes of node A at 10 s (the second only half full); web on node A, with a second container at the
    // first instant (a recreation), and api (globex) on node A too.
    const rounds = Array.from({ length: 9 }, (_, i) =>
      sample(at(i * 10_000), i + 1, [
        container(web, i + 1),
        container(api, 2 * (i + 1)),
        ...(i === 0 ? [container({ ...web, containerId: 'c_new' }, 100)] : []),
      ]),
    );
    await send(NODE_A, rounds.slice(0, 4));
    await send(NODE_A, rounds.slice(4));
    await waitForRows('node_samples', `node_id = '${NODE_A}'`, 9);
    await waitForRows('pod_samples', `node_id = '${NODE_A}'`, 19);
    const stored = await eventually('the stored counter', async () => {
      const s = await stats();
      return s.storedSamples >= 28 ? s : undefined;
    });
    assert.equal(stored.storedSamples, 28);
    assert.deepEqual(stored.droppedMessages, {});
    const [row] = await sql()`select * from node_samples where node_id = ${NODE_A} order by at limit 1`;
    assert.equal(row?.cpu_percent, 1);
    assert.equal(row?.net_rx, 101);
    assert.ok(Math.abs((row?.disk_used_ratio ?? 0) - 0.6) < 1e-6);
  });

  test('a round sent twice (an agent resending a frame) is stored once', async () => {
    const before = await stats();
    const other = 'nod_dddddddddddddddddddddddd';
    // The same node, container and time again, in one message with a new round of another node behind it.
    await send(NODE_A, [sample(at(0), 1, [container(web, 1)])]);
    await send(other, [sample(at(0), 5, [container(web, 5)])]);
    await waitForRows('node_samples', `node_id = '${other}'`, 1);
    await eventually('the counter', async () =>
      (await stats()).storedSamples >= before.storedSamples + 2 ? true : undefined,
    );
    assert.equal(await count('node_samples', `node_id = '${NODE_A}'`), 9);
    assert.equal(await count('pod_samples', `node_id = '${NODE_A}'`), 19);
    assert.equal((await stats()).storedSamples, before.storedSamples + 2);
  });

  test('malformed messages are dropped and counted by reason; valid ones keep flowing', async () => {
    const before = await stats();
    const subject = `agent.${NODE_B}.metrics`;
    const valid = (i: number) => encode(message(NODE_B, [sample(at(HOUR_MS + i * 10_000), 1)]));
    await publish(subject, valid(0));
    await publish(subject, new TextEncoder().encode('{"nodeId": "nod_'));
    await publish(subject, valid(1));
    await publish(subject, encode({ nodeId: NODE_B, samples: [{ at: 'noon', node: {} }] }));
    await publish(subject, valid(2));
    await publish(subject, encode(message(NODE_A, [sample(at(HOUR_MS), 1)])));
    await publish(subject, valid(3));
    await publish(subject, randomBytes(2 * 1024 * 1024));
    await publish(subject, valid(4));
    await publish(subject, encode(message(NODE_B, [sample(new Date(Date.now() + DAY_MS), 1)])));
    await publish(subject, encode(message(NODE_B, [sample(new Date(Date.now() - 2 * DAY_MS), 1)])));
    await publish(subject, valid(5));
    await waitForRows('node_samples', `node_id = '${NODE_B}'`, 6);
    const after = await eventually('the dropped counters', async () => {
      const s = await stats();
      const dropped = Object.values(s.droppedMessages).reduce((a, b) => a + b, 0);
      return dropped >= 6 ? s : undefined;
    });
    assert.deepEqual(after.droppedMessages, {
      ...before.droppedMessages,
      not_json: 2,
      invalid: 1,
      node_mismatch: 1,
      in_future: 1,
      too_old: 1,
    });
    assert.equal(await count('node_samples', `node_id = '${NODE_A}'`), 9, 'the mismatched message stored nothing');
    assert.equal(await count('node_samples', `node_id = '${NODE_B}'`), 6);
  });

  test('roll-ups: completed minutes to 1m, hours to 1h (weighted by samples); running again changes nothing', async () => {
    const now = new Date(base + 2 * HOUR_MS);
    await rollUpAndExpire(sql(), now);
    const minutes = await sql()`
      select bucket, samples, cpu_percent_avg, cpu_percent_max, net_rx_avg from node_rollup_1m
      where node_id = ${NODE_A} order by bucket`;
    assert.deepEqual(
      minutes.map((m) => [m.bucket.getTime() - base, m.samples, m.cpu_percent_avg, m.cpu_percent_max]),
      [
        [0, 6, 3.5, 6],
        [MINUTE_MS, 3, 8, 9],
      ],
    );
    const [hour] = await sql()`select * from node_rollup_1h where node_id = ${NODE_A}`;
    assert.equal(hour?.bucket.getTime(), base);
    assert.equal(hour?.samples, 9);
    assert.equal(hour?.cpu_percent_avg, 5, 'the average of the 9 samples, not of the two minutes (5.75)');
    assert.equal(hour?.cpu_percent_max, 9);
    // The pod: both containers at the first instant are summed (1 + 100), then averaged over the minute.
    const [podMinute] = await sql()`
      select * from pod_rollup_1m where tenant_id = 'acme' and pod_id = 'web' and bucket = ${at(0)}`;
    assert.equal(podMinute?.samples, 6);
    assert.ok(Math.abs((podMinute?.cpu_percent_avg ?? 0) - (101 + 2 + 3 + 4 + 5 + 6) / 6) < 1e-9);
    assert.equal(podMinute?.cpu_percent_max, 101);
    assert.equal(podMinute?.memory_bytes_max, 101_000_000);
    assert.equal(podMinute?.memory_limit_bytes, 512 * 1024 * 1024);

    const snapshot = async () =>
      JSON.stringify([
        await sql()`select * from node_rollup_1m order by node_id, bucket`,
        await sql()`select * from pod_rollup_1m order by tenant_id, pod_id, node_id, bucket`,
        await sql()`select * from node_rollup_1h order by node_id, bucket`,
        await sql()`select * from pod_rollup_1h order by tenant_id, pod_id, node_id, bucket`,
      ]);
    const first = await snapshot();
    // Nothing is dirty now: a second pass rolls nothing; marking everything dirty again recomputes the same rows.
    assert.deepEqual((await rollUpAndExpire(sql(), now)).minutes, 0);
    await sql()`insert into metrics_dirty_minutes select distinct date_bin('1 minute', at, '2000-01-01Z') from node_samples on conflict do nothing`;
    await rollUpAndExpire(sql(), now);
    assert.equal(await snapshot(), first);
  });

  test('a late sample marks its minute dirty again: recomputed, not added twice', async () => {
    await send(NODE_A, [sample(at(55_000), 50)]);
    // Stored with its dirty mark in one transaction: once the row is there, so is the mark.
    await waitForRows('node_samples', `node_id = '${NODE_A}'`, 10);
    await rollUpAndExpire(sql(), new Date(base + 2 * HOUR_MS));
    const [minute] = await sql()`select * from node_rollup_1m where node_id = ${NODE_A} and bucket = ${at(0)}`;
    assert.equal(minute?.samples, 7);
    near(minute?.cpu_percent_avg, (21 + 50) / 7, 'minute average');
    const [hour] = await sql()`select * from node_rollup_1h where node_id = ${NODE_A}`;
    assert.equal(hour?.samples, 10);
    near(hour?.cpu_percent_avg, (45 + 50) / 10, 'hour average');
  });

  test('series: the range picks the resolution; gaps stay gaps; only the pod’s own node counts', async () => {
    // Recent raw samples of web on node A (every 10 s, one missing), and a forged "web" from node B.
    const recent = bucketStart(Date.now() - 10 * MINUTE_MS, MINUTE_MS).getTime();
    const rounds = [0, 1, 2, 4, 5].map((i) => sample(new Date(recent + i * 10_000), 10, [container(web, 10 + i)]));
    await send(NODE_A, rounds);
    await send(NODE_B, [sample(new Date(recent), 1, [container(web, 99)])]);
    await waitForRows('pod_samples', `node_id = '${NODE_B}'`, 1);
    await waitForRows('pod_samples', `at >= '${new Date(recent).toISOString()}' and node_id = '${NODE_A}'`, 5);

    const raw = await stack.call<Series>(qry('podSeries'), { ...web, nodeId: NODE_A, range: '1h' }, viewer);
    assert.equal(raw.resolution, 'raw');
    assert.equal(raw.stepSeconds, 10);
    assert.deepEqual(raw.target, { kind: 'pod', ...web });
    assert.deepEqual(
      raw.points.map((p) => [Date.parse(p.at) - recent, p.cpuPercent]),
      [
        [0, 10],
        [10_000, 11],
        [20_000, 12],
        [40_000, 14],
        [50_000, 15],
      ],
      'no point at 30 s (a gap, not a zero), none from node B',
    );
    assert.equal(raw.points[0]?.memoryLimitBytes, 512 * 1024 * 1024);
    assert.equal(raw.points[0]?.diskUsedRatio, null);

    const day = await stack.call<Series>(qry('podSeries'), { ...web, nodeId: NODE_A, range: '24h' }, viewer);
    assert.equal(day.resolution, '1m');
    assert.equal(day.stepSeconds, 60);
    // (The service's own job may have rolled the recent minutes up too, on the real clock.)
    assert.deepEqual(
      day.points.map((p) => Date.parse(p.at) - base).filter((offset) => offset < HOUR_MS),
      [0, MINUTE_MS],
    );
    const week = await stack.call<Series>(qry('nodeSeries'), { nodeId: NODE_A, range: '7d' }, platformAdmin);
    assert.equal(week.resolution, '1h');
    const [hour, ...others] = week.points.filter((p) => Date.parse(p.at) === base);
    assert.equal(others.length, 0);
    near(hour?.cpuPercent, 9.5, 'hour cpu');
    assert.equal(hour?.cpuPercentMax, 50);
    assert.equal(hour?.memoryLimitBytes, 8_000_000_000);
    near(hour?.diskUsedRatio, 0.6, 'fullest disk');
    const forged = await stack.call<Series>(qry('podSeries'), { ...web, nodeId: NODE_B, range: '1h' }, viewer);
    assert.deepEqual(
      forged.points.map((p) => p.cpuPercent),
      [99],
      'asked for node B (as the gateway never would for a pod on A), only B’s samples',
    );
  });

  test('access: another tenant’s pod series is not_found; a node needs an admin or its tenant', async () => {
    const key = { ...web, nodeId: NODE_A, range: '1h' };
    assert.equal((await stack.refused(qry('podSeries'), key, stranger)).code, 'not_found');
    assert.equal((await stack.refused(qry('podSeries'), { ...key, tenantId: 'nosuch' }, viewer)).code, 'not_found');
    const node = { nodeId: NODE_A, range: '1h' };
    assert.equal((await stack.refused(qry('nodeSeries'), node, viewer)).code, 'not_found');
    assert.equal((await stack.refused(qry('nodeSeries'), { ...node, tenantId: 'acme' }, stranger)).code, 'not_found');
    assert.equal(
      (await stack.call<Series>(qry('nodeSeries'), { ...node, tenantId: 'acme' }, viewer)).target.kind,
      'node',
    );
    assert.equal((await stack.refused(qry('metricsStats'), {}, viewer)).code, 'forbidden');
    const malformed: [string, unknown][] = [
      [qry('podSeries'), { ...key, range: '2h' }],
      [qry('podSeries'), { ...key, extra: 1 }],
      [qry('nodeSeries'), { nodeId: NODE_A }],
    ];
    for (const [subject, data] of malformed) {
      assert.equal((await stack.refused(subject, data, platformAdmin)).code, 'invalid', JSON.stringify(data));
    }
  });

  test('top: the latest sample of each pod the caller reads, nodes for platform admins only', async () => {
    const now = Date.now() - 20_000;
    await send(NODE_A, [sample(new Date(now), 11, [container(web, 5)])]);
    // Node B labels containers as globex/api and as acme/web: the monitor lists both; the gateway keeps only the
    // pods' own nodes.
    await send(NODE_B, [sample(new Date(now), 33, [container(api, 7), container(web, 3)])]);
    await waitForRows('pod_samples', `at = '${new Date(now).toISOString()}'`, 3);
    const top = (as = viewer, data = {}) => stack.call<{ rows: TopRow[] }>(qry('top'), data, as);
    const names = (rows: TopRow[]) =>
      rows.map((r) => `${r.kind}:${r.tenantId ?? '-'}/${r.podId ?? '-'}@${r.nodeId}`).sort();

    assert.deepEqual(names((await top()).rows), [`pod:acme/web@${NODE_A}`, `pod:acme/web@${NODE_B}`]);
    assert.deepEqual(names((await top(stranger)).rows), [`pod:globex/api@${NODE_B}`]);
    assert.equal((await stack.refused(qry('top'), { tenantId: 'globex' }, viewer)).code, 'not_found');
    const all = (await top(platformAdmin)).rows;
    assert.deepEqual(names(all), [
      `node:-/-@${NODE_A}`,
      `node:-/-@${NODE_B}`,
      `pod:acme/web@${NODE_A}`,
      `pod:acme/web@${NODE_B}`,
      `pod:globex/api@${NODE_B}`,
    ]);
    const nodeB = all.find((r) => r.kind === 'node' && r.nodeId === NODE_B);
    assert.equal(nodeB?.cpuPercent, 33);
    assert.equal(nodeB?.memoryLimitBytes, 8_000_000_000);
    assert.deepEqual(names((await top(platformAdmin, { tenantId: 'globex' })).rows), [`pod:globex/api@${NODE_B}`]);
  });

  test('two replicas in the queue group: every message is handled once', async () => {
    const second: RunningService<MonitorDb, MonitorEnv> = await runService(monitorService, {
      env: {
        AGENTPOD_NATS_URL: stack.nats.url,
        AGENTPOD_DATABASE_URL: stack.db.url,
        AGENTPOD_LOG_LEVEL: 'silent',
        AGENTPOD_STATE_DIR: stack.monitor.runtime.config.AGENTPOD_STATE_DIR,
        AGENTPOD_SECRETS_KEY: stack.monitor.runtime.config.AGENTPOD_SECRETS_KEY ?? '',
      },
    });
    try {
      const before = await stats();
      const start = Date.now() - 4 * MINUTE_MS;
      const nodes = Array.from({ length: 40 }, (_, i) => `nod_replica${String(i).padStart(12, '0')}`);
      for (const nodeId of nodes) await send(nodeId, [sample(new Date(start), 1, [container(web, 1)])]);
      for (let i = 0; i < 40; i++) await publish(`agent.${NODE_A}.metrics`, encode({ not: 'metrics' }));
      await waitForRows('node_samples', `node_id like 'nod_replica%'`, 40);
      const after = await eventually('both replicas flushed', async () => {
        const s = await stats();
        const invalid = (s.droppedMessages.invalid ?? 0) - (before.droppedMessages.invalid ?? 0);
        return s.storedSamples - before.storedSamples >= 80 && invalid >= 40 ? s : undefined;
      });
      assert.equal(after.storedSamples - before.storedSamples, 80, 'each round stored (and counted) once');
      assert.equal(
        (after.droppedMessages.invalid ?? 0) - (before.droppedMessages.invalid ?? 0),
        40,
        'no message handled twice',
      );
      assert.equal(await count('node_samples', `node_id like 'nod_replica%'`), 40);
    } finally {
      await second.stop();
    }
  });

  test('when PostgreSQL is slow the queue stays bounded: the oldest messages are dropped and counted', async () => {
    const { runtime } = stack.monitor;
    const ingester = new MetricsIngester({
      nc: runtime.nc,
      sql: runtime.sql,
      clock: runtime.clock,
      logger: runtime.logger,
      flushRows: 1,
      maxQueuedRows: 10,
    });
    const node = 'nod_slowslowslowslowslowslow';
    const round = (i: number) => encode(message(node, [sample(new Date(Date.now() - 3 * MINUTE_MS + i * 1000), i)]));
    const before = await stats();
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked = () => {};
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    // Another session holds node_samples: the ingester's first flush waits behind it.
    const holder = runtime.sql.begin(async (tx) => {
      await tx`lock table node_samples in access exclusive mode`;
      locked();
      await released;
    });
    try {
      await isLocked;
      ingester.accept(`agent.${node}.metrics`, round(0));
      for (let i = 1; i <= 20; i++) ingester.accept(`agent.${node}.metrics`, round(i));
      assert.equal(ingester.queuedRows, 10, 'the queue holds at most 10 rows');
    } finally {
      release();
      await holder;
    }
    await waitForRows('node_samples', `node_id = '${node}'`, 11);
    await ingester.stop();
    const stored = await sql()`select cpu_percent from node_samples where node_id = ${node} order by at`;
    assert.deepEqual(
      stored.map((r) => r.cpu_percent),
      [0, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20],
      'the round being written, then the newest ten',
    );
    const after = await stats();
    assert.equal((after.droppedMessages.overflow ?? 0) - (before.droppedMessages.overflow ?? 0), 10);
  });

  test('a replay rebuilds the alerts and keeps every sample and roll-up', async () => {
    const tables = ['node_samples', 'pod_samples', 'node_rollup_1m', 'pod_rollup_1h', 'metrics_counters'];
    const before = await Promise.all(tables.map((table) => count(table)));
    const report = await stack.monitor.runtime.replay({ swap: true, compare: true });
    assert.equal(report.identical, true, JSON.stringify(report.comparison));
    assert.equal(
      report.comparison?.some((t) => tables.includes(t.table)),
      false,
      'metrics tables are not compared',
    );
    assert.deepEqual(await Promise.all(tables.map((table) => count(table))), before);
    // Ingestion goes on into the swapped-in schema.
    await send(NODE_B, [sample(new Date(Date.now() - 90_000), 2)]);
    await waitForRows(
      'node_samples',
      `node_id = '${NODE_B}'`,
      (await count('node_samples', `node_id = '${NODE_B}'`)) + 1,
    );
  });

  test('retention: raw after 24 h, 1m after 30 d, 1h after 365 d, in bounded chunks', async () => {
    // More raw rows than one delete statement takes, all in the first hour.
    await sql()`
      insert into node_samples (node_id, at, cpu_percent, memory_used_bytes, memory_total_bytes, swap_used_bytes,
        load1, net_rx, net_tx, disk_read, disk_write, disk_used_ratio)
      select 'nod_bulk' || (n % 10), ${at(0)}::timestamptz + make_interval(secs => n / 10), 1, 1, 1, 0, 0, 0, 0, 0, 0, null
      from generate_series(0, ${2 * DELETE_CHUNK + 10}) as n`;
    const [latest] = await sql()`
      select greatest((select max(at) from node_samples), (select max(at) from pod_samples)) as at`;
    const latestRaw = new Date(latest?.at ?? 0).getTime();
    const raw = await count('node_samples');
    assert.ok(raw > 2 * DELETE_CHUNK);

    const dayLater = await rollUpAndExpire(sql(), new Date(base + DAY_MS + HOUR_MS));
    assert.equal(dayLater.deleted.node_samples, await count('node_samples').then((left) => raw - left));
    assert.equal(await count('node_samples', `at < '${new Date(base + HOUR_MS).toISOString()}'`), 0);
    assert.ok((await count('node_rollup_1m')) > 0, 'roll-ups outlive the raw samples');

    await rollUpAndExpire(sql(), new Date(latestRaw + DAY_MS + 1));
    assert.equal(await count('node_samples'), 0);
    assert.equal(await count('pod_samples'), 0);
    await rollUpAndExpire(sql(), new Date(base + 31 * DAY_MS));
    assert.equal(await count('node_rollup_1m', `bucket < '${new Date(base + HOUR_MS).toISOString()}'`), 0);
    assert.ok((await count('node_rollup_1h')) > 0);
    await rollUpAndExpire(sql(), new Date(base + 366 * DAY_MS));
    assert.equal(await count('node_rollup_1h', `bucket <= '${new Date(base).toISOString()}'`), 0);
    assert.equal(await count('pod_rollup_1h', `bucket <= '${new Date(base).toISOString()}'`), 0);
  });
});
