import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { HealthCheck, PodLabels } from '@agentpod/contracts';
import { createLogger } from '@agentpod/kit';
import type { ObservedContainer } from '../runtime/index.ts';
import type { ProbeTarget } from './check.ts';
import { type HealthChanged, HealthProber } from './prober.ts';
import type { ProbeResult } from './state.ts';

/*
 * The prober with a fake clock (node:test mock timers drive setTimeout and Date) and fake probes: when it probes,
 * what it emits, and that it emits nothing but changes.
 */

const logger = createLogger('agent-test', 'silent');
const check = (extra: Record<string, unknown> = {}) =>
  HealthCheck.parse({
    type: 'http',
    path: '/healthz',
    port: 8080,
    intervalSeconds: 1,
    timeoutSeconds: 1,
    failureThreshold: 3,
    startGraceSeconds: 5,
    ...extra,
  });

/** A running container; `health` goes into its label (a string as it is), null: no check. */
function container(extra: Partial<ObservedContainer> = {}, health: unknown = check()): ObservedContainer {
  return {
    id: 'c1',
    name: 'agentpod-acme_web-g1',
    tenantId: 'acme',
    podId: 'web',
    generation: 1,
    image: 'agentpod-test/node:1',
    imageId: 'sha256:x',
    state: 'running',
    pid: 42,
    exitCode: null,
    oomKilled: false,
    error: null,
    createdAt: new Date(0).toISOString(),
    startedAt: new Date(Date.now()).toISOString(),
    finishedAt: null,
    restartCount: 0,
    ports: [{ containerPort: 8080, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 20_000 }],
    health: null,
    volume: null,
    labels: {
      [PodLabels.pod]: 'acme/web',
      ...(health === null ? {} : { [PodLabels.health]: typeof health === 'string' ? health : JSON.stringify(health) }),
    },
    ...extra,
  };
}

/** A prober whose probes answer `answer(now)`, recording each probe's start time and each emitted change. */
function setup(answer: (nowMs: number) => ProbeResult | Promise<ProbeResult>) {
  const probes: { at: number; target: ProbeTarget }[] = [];
  const changes: (HealthChanged & { at: number })[] = [];
  const prober = new HealthProber({
    logger,
    emit: (change) => changes.push({ ...change, at: Date.now() }),
    probe: async (target) => {
      probes.push({ at: Date.now(), target });
      return answer(Date.now());
    },
  });
  return { prober, probes, changes, statuses: () => changes.map((c) => [c.status, c.at / 1_000]) };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));
/** Runs what is due now, then moves the fake clock on in 50 ms steps, letting each probe settle in between. */
async function advance(ms: number) {
  await flush();
  mock.timers.tick(0);
  await flush();
  for (let passed = 0; passed < ms; passed += 50) {
    mock.timers.tick(50);
    await flush();
  }
}

describe('health prober (fake clock, fake probes)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }));
  afterEach(() => mock.timers.reset());

  test('probes at once, every 0.5 s while starting in grace, then every interval; emits only changes', async () => {
    let up = false;
    const { prober, probes, statuses, changes } = setup(() => (up ? { ok: true } : { ok: false, error: 'refused' }));
    prober.observe('c1', container());
    await advance(1_200);
    assert.deepEqual(
      probes.map((p) => p.at),
      [0, 500, 1_000],
    );
    assert.deepEqual(probes[0]?.target, { check: check(), containerPort: 8080, hostPort: 20_000 });
    up = true;
    await advance(10_000);
    assert.deepEqual(statuses(), [['healthy', 1.5]]);
    assert.ok(probes.length >= 10, 'it kept probing, once a second');
    assert.deepEqual(
      probes.slice(-3).map((p) => p.at),
      [8_500, 9_500, 10_500],
    );
    const [healthy] = changes;
    assert.deepEqual(
      { ...healthy, at: undefined },
      {
        containerId: 'c1',
        tenantId: 'acme',
        podId: 'web',
        generation: 1,
        startedAt: new Date(0).toISOString(),
        status: 'healthy',
        failures: 0,
        lastError: null,
        at: undefined,
      },
    );
    prober.stop();
  });

  test('failures in the grace period do not count; after it, threshold × interval to unhealthy', async () => {
    const { prober, statuses, changes } = setup(() => ({ ok: false, error: 'GET /healthz answered 500' }));
    prober.observe('c1', container());
    await advance(20_000);
    // Grace ends at 5 s; counted failures at 5, 6 and 7 s.
    assert.deepEqual(statuses(), [['unhealthy', 7]]);
    assert.deepEqual([changes[0]?.failures, changes[0]?.lastError], [3, 'GET /healthz answered 500']);
    prober.stop();
  });

  test('healthy → unhealthy after threshold consecutive failures → healthy again on one success', async () => {
    const failing = (now: number) => now >= 10_000 && now < 20_000;
    const { prober, statuses } = setup((now) => (failing(now) ? { ok: false, error: 'boom' } : { ok: true }));
    prober.observe('c1', container());
    await advance(30_000);
    assert.deepEqual(statuses(), [
      ['healthy', 0],
      ['unhealthy', 12],
      ['healthy', 20],
    ]);
    prober.stop();
  });

  test('never two probes of one container at once: a slow probe delays the next one', async () => {
    let release: (result: ProbeResult) => void = () => {};
    const { prober, probes } = setup(() => new Promise((resolve) => (release = resolve)));
    prober.observe('c1', container({}, check({ startGraceSeconds: 0 })));
    await advance(5_000);
    assert.equal(probes.length, 1, 'the first probe is still out');
    release({ ok: true });
    await advance(50);
    assert.equal(probes.length, 2, 'the next one follows at once, it is overdue');
    prober.stop();
  });

  test('a stopped container is not probed; a new run starts over at starting (and says so)', async () => {
    const { prober, probes, statuses } = setup(() => ({ ok: true }));
    const first = container();
    prober.observe('c1', first);
    await advance(2_000);
    prober.observe('c1', { ...first, state: 'exited', pid: null });
    const probed = probes.length;
    assert.equal(prober.probing, 0);
    assert.equal(prober.healthOf({ ...first, state: 'exited' }), null);
    await advance(5_000);
    assert.equal(probes.length, probed, 'no probe while it does not run');
    const second = container({ startedAt: new Date(Date.now()).toISOString() });
    assert.equal(prober.healthOf(second), 'starting', 'a run not probed yet');
    prober.observe('c1', second);
    await advance(100);
    assert.deepEqual(statuses(), [
      ['healthy', 0],
      ['starting', 7],
      ['healthy', 7],
    ]);
    assert.equal(prober.healthOf(second), 'healthy');
    assert.equal(prober.healthOf(first), 'starting', 'the earlier run is not this one');
    prober.stop();
  });

  test('the same run observed again changes nothing; destroyed or unlisted containers are forgotten', async () => {
    const { prober, probes } = setup(() => ({ ok: true }));
    const one = container();
    const two = container({ id: 'c2', name: 'agentpod-acme_api-g1', podId: 'api' });
    prober.sync([one, two]);
    prober.observe('c1', one);
    prober.sync([one, two]);
    await advance(100);
    assert.equal(probes.length, 2, 'one probe each, not one per observation');
    prober.observe('c1', null);
    assert.equal(prober.probing, 1);
    prober.sync([]);
    assert.equal(prober.probing, 0);
    await advance(5_000);
    assert.equal(probes.length, 2);
    prober.stop();
  });

  test('resend says every current verdict again (after the outbox dropped observations)', async () => {
    const { prober, statuses } = setup(() => ({ ok: true }));
    prober.sync([container(), container({ id: 'c2', state: 'exited' })]);
    await advance(100);
    prober.resend();
    assert.deepEqual(statuses(), [
      ['healthy', 0],
      ['healthy', 0.1],
    ]);
    prober.stop();
  });

  test('a container without a check is not probed; healthOf is null for it', async () => {
    const { prober, probes } = setup(() => ({ ok: true }));
    const plain = container({}, null);
    prober.observe('c1', plain);
    await advance(2_000);
    assert.equal(probes.length, 0);
    assert.equal(prober.healthOf(plain), null);
    prober.stop();
  });

  test('a check that cannot be probed (bad label, unpublished port) ends unhealthy, saying why', async () => {
    const { prober, probes, changes } = setup(() => ({ ok: true }));
    prober.observe('c1', container({}, check({ port: 9999 })));
    prober.observe('c2', container({ id: 'c2' }, '{not json'));
    await advance(60_000);
    assert.equal(probes.length, 0, 'nothing went over the network');
    assert.deepEqual(
      changes.map((c) => [c.containerId, c.status, c.lastError]),
      [
        ['c1', 'unhealthy', 'container port 9999/tcp is not published'],
        ['c2', 'unhealthy', 'the agentpod.health label is not JSON'],
      ],
    );
    prober.stop();
  });

  test('after stop nothing is probed or emitted, even a result that was out', async () => {
    let release: (result: ProbeResult) => void = () => {};
    const { prober, changes } = setup(() => new Promise((resolve) => (release = resolve)));
    prober.observe('c1', container());
    await advance(50);
    prober.stop();
    release({ ok: true });
    await advance(2_000);
    assert.deepEqual(changes, []);
  });
});
