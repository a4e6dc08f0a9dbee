import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoffDelay, formatDuration, policyFrom } from './backoff.ts';
import type { PodHistory, SeenContainer } from './model.ts';
import {
  ago,
  container,
  given,
  historyOf,
  lastAction,
  NODE,
  NOW,
  OTHER_NODE,
  POLICY,
  pass,
  pod,
} from './world.testing.ts';

/*
 * The crash streak, backoff, failing and recovered rules with explicit times (NOW fixed; `ago(ms)` before it).
 * POLICY: base 1 s doubling to 60 s, reset after 10 min, failing after 3 failed recoveries, grace 5 s.
 */

const target = { tenantId: 'acme', podId: 'web', nodeId: NODE, generation: 1 };
const MINUTE = 60_000;
const RESET = POLICY.resetAfterMs;

/** A container that ran `ranMs` and ended `endedMsAgo` before NOW with `exitCode`, observed when it ended. */
const crashed = (ranMs: number, endedMsAgo: number, exitCode = 1, extra: Partial<SeenContainer> = {}) =>
  container({
    state: 'exited',
    exitCode,
    startedAt: ago(endedMsAgo + ranMs),
    finishedAt: ago(endedMsAgo),
    observedAt: ago(endedMsAgo),
    ...extra,
  });

/** The history right after recovery `attempt` (a start) succeeded `msAgo` before NOW. */
const afterRecovery = (attempt: number, msAgo: number, extra: Partial<PodHistory> = {}): PodHistory =>
  historyOf({
    last: lastAction('start', msAgo, { recovery: true }),
    recovery: { reason: 'crash', attempt, at: ago(msAgo) },
    ...extra,
  });

const planFor = (c: SeenContainer, history: PodHistory = historyOf(), now = NOW, desired = pod()) =>
  pass(given({ desired: [desired], observed: [c], history: { 'acme/web': history } }), now);

const startOf = (c: SeenContainer, attempt: number, reason: 'crash' | 'unhealthy' = 'crash') => ({
  kind: reason === 'crash' ? ('start' as const) : ('restart' as const),
  ...target,
  containerId: c.containerId,
  cause: null,
  recovery: { reason, attempt },
});

describe('backoff curve', () => {
  test('attempt 1 is immediate; then base, doubling, capped', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => backoffDelay(n, POLICY)),
      [0, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000],
    );
    assert.equal(backoffDelay(5_000, POLICY), 60_000);
  });

  test('the policy comes from the environment, and a cap below the base is refused by name', () => {
    const env = {
      AGENTPOD_RECONCILE_INTERVAL_MS: 500,
      AGENTPOD_RECONCILE_BACKOFF_BASE_MS: 200,
      AGENTPOD_RECONCILE_BACKOFF_CAP_MS: 100,
      AGENTPOD_RECONCILE_RESET_AFTER_MS: 1_000,
      AGENTPOD_RECONCILE_FAILING_AFTER: 3,
    };
    assert.throws(() => policyFrom(env), /AGENTPOD_RECONCILE_BACKOFF_CAP_MS \(100\) must be at least/);
    assert.deepEqual(policyFrom({ ...env, AGENTPOD_RECONCILE_BACKOFF_CAP_MS: 800 }), {
      backoffBaseMs: 200,
      backoffCapMs: 800,
      resetAfterMs: 1_000,
      failingAfter: 3,
      observeGraceMs: 500,
    });
  });

  test('durations read well', () => {
    assert.deepEqual([200, 1_000, 1_500, 8_000, 42_000, 300_000, 150_000, 3_600_000, 3_900_000].map(formatDuration), [
      '200 ms',
      '1 s',
      '1.5 s',
      '8 s',
      '42 s',
      '5 min',
      '2 min 30 s',
      '1 h',
      '1 h 5 min',
    ]);
  });
});

describe('crash recovery', () => {
  test('the first crash after a healthy run is recovered at once: attempt 1', () => {
    const c = crashed(5 * MINUTE, 10);
    assert.deepEqual(planFor(c).actions, [startOf(c, 1)]);
  });

  test('a crash soon after a recovery waits base·2^(n-2) from the crashed run’s end, then is attempt n', () => {
    // Recovery 1 was 3 s ago; the run it started lasted 1 s and ended 2 s ago: attempt 2 is due 1 s after that end.
    const c = crashed(1_000, 2_000);
    assert.deepEqual(planFor(c, afterRecovery(1, 3_000)).actions, [startOf(c, 2)]);
    // The same crash, 1.5 s after recovery 2 ended: attempt 3 waits 2 s from the end, i.e. until 0.5 s from now.
    const again = crashed(100, 1_500);
    const held = planFor(again, afterRecovery(2, 1_700));
    assert.deepEqual(held.actions, []);
    assert.deepEqual(held.waits, [{ ...target, reason: 'crash-backoff', until: ago(-500).toISOString(), attempt: 3 }]);
    assert.deepEqual(held.wakeAt, ago(-500));
    assert.deepEqual(planFor(again, afterRecovery(2, 1_700), ago(-500)).actions, [startOf(again, 3)]);
  });

  test('the wait is capped', () => {
    const c = crashed(100, 59_000);
    // Attempt 10 would wait 256 s uncapped; the cap (60 s) is 1 s away.
    const held = planFor(c, afterRecovery(9, 60_000, { failing: { generation: 1, since: ago(MINUTE) } }));
    assert.equal(held.waits.at(0)?.until, ago(-1_000).toISOString());
  });

  test('a crashed run that lasted the reset period starts the count again: attempt 1, at once', () => {
    const c = crashed(RESET, 10);
    assert.deepEqual(planFor(c, afterRecovery(2, RESET + 100)).actions, [startOf(c, 1)]);
    const short = crashed(RESET - 1, 10);
    assert.equal(planFor(short, afterRecovery(2, RESET + 100)).waits.at(0)?.attempt, 3);
  });

  test('a recovery that failed as an action is the same crash tried again: attempt + 1, on the action curve', () => {
    const c = crashed(100, 10_000);
    const history = historyOf({
      last: lastAction('start', 500, { ok: false, error: 'no such container', recovery: true }),
      failures: 1,
      recovery: { reason: 'crash', attempt: 1, at: ago(500) },
    });
    const held = planFor(c, history);
    assert.deepEqual(held.waits, [{ ...target, reason: 'action-backoff', until: ago(-500).toISOString(), attempt: 2 }]);
    assert.deepEqual(planFor(c, history, ago(-500)).actions, [startOf(c, 2)]);
  });

  test('an end observed before our last start may predate it: trusted only after the grace period', () => {
    // Recovery 1 succeeded 1 s ago; the observation still shows the crash it answered (observed 2 s ago).
    const stale = crashed(100, 2_000);
    const held = planFor(stale, afterRecovery(1, 1_000));
    assert.deepEqual(held.actions, []);
    assert.deepEqual(held.waits.at(0)?.until, ago(1_000 - POLICY.observeGraceMs).toISOString());
    // Observed after the start: a new crash, planned as usual.
    const fresh = crashed(100, 1_000, 1, { observedAt: ago(500) });
    assert.deepEqual(planFor(fresh, afterRecovery(1, 1_000)).actions, [startOf(fresh, 2)]);
  });

  test('a restart the operator asked for is no recovery, even in a crash loop', () => {
    const c = crashed(100, 10);
    const history = afterRecovery(5, 100, { failing: { generation: 1, since: ago(MINUTE) } });
    const plan = planFor(c, history, NOW, pod({ restartRequest: 'evt-r' }));
    assert.deepEqual(plan.actions, [
      { kind: 'restart', ...target, containerId: c.containerId, cause: 'evt-r', recovery: null },
    ]);
  });
});

describe('health-driven restarts', () => {
  const unhealthy = (runningMs: number, extra: Partial<SeenContainer> = {}) =>
    container({ startedAt: ago(runningMs), health: 'unhealthy', healthError: 'GET /healthz: 500', ...extra });

  test('a running container whose check says unhealthy is restarted: reason unhealthy', () => {
    const c = unhealthy(5 * MINUTE);
    assert.deepEqual(planFor(c).actions, [startOf(c, 1, 'unhealthy')]);
  });

  test('starting and healthy are left alone; so is unhealthy under restart policy never', () => {
    assert.deepEqual(planFor(container({ health: 'starting' })).actions, []);
    assert.deepEqual(planFor(container({ health: 'healthy' })).actions, []);
    assert.deepEqual(planFor(unhealthy(MINUTE), historyOf(), NOW, pod({ restartPolicy: 'never' })).actions, []);
  });

  test('unhealthy again soon after an unhealthy restart: the backoff counts from the run’s start', () => {
    const c = unhealthy(500);
    const history = historyOf({
      last: lastAction('restart', 600, { recovery: true }),
      recovery: { reason: 'unhealthy', attempt: 1, at: ago(600) },
    });
    const held = planFor({ ...c, observedAt: ago(100) }, history);
    assert.deepEqual(held.waits, [{ ...target, reason: 'crash-backoff', until: ago(-500).toISOString(), attempt: 2 }]);
  });
});

describe('failing', () => {
  test('the crash that ends the 3rd recovery marks the pod failing, once, then recovery goes on', () => {
    const c = crashed(100, 10);
    const plan = planFor(c, afterRecovery(3, 500));
    assert.deepEqual(plan.actions, [
      {
        kind: 'markFailing',
        ...target,
        reason: 'crash-loop',
        failures: 3,
        exitCode: 1,
        lastError: null,
        summary: 'exited with code 1 4 times in a row; next try in 4 s',
        cause: null,
      },
    ]);
    const marked = afterRecovery(3, 500, { failing: { generation: 1, since: NOW } });
    const after = planFor(c, marked);
    assert.deepEqual(after.actions, []);
    assert.deepEqual(after.waits.at(0)?.reason, 'crash-backoff');
    assert.deepEqual(planFor(c, marked, ago(-4_000)).actions, [startOf(c, 4)]);
  });

  test('fewer failed recoveries do not mark it', () => {
    const c = crashed(100, 10);
    assert.ok(!planFor(c, afterRecovery(2, 500)).actions.some((a) => a.kind === 'markFailing'));
  });

  test('a check failing after every restart marks it failing with the probe’s error', () => {
    const c = container({ startedAt: ago(40_000), health: 'unhealthy', healthError: 'GET /healthz: 500' });
    const history = historyOf({
      last: lastAction('restart', 41_000, { recovery: true }),
      recovery: { reason: 'unhealthy', attempt: 3, at: ago(41_000) },
    });
    const [mark] = planFor({ ...c, observedAt: ago(10) }, history).actions;
    assert.equal(mark?.kind, 'markFailing');
    assert.deepEqual(mark?.kind === 'markFailing' && [mark.reason, mark.failures, mark.lastError, mark.summary], [
      'unhealthy',
      3,
      'GET /healthz: 500',
      'failed its health check 4 times in a row (GET /healthz: 500); next try now',
    ]);
  });

  test('three failed actions in a row mark it failing with Docker’s error', () => {
    const history = historyOf({
      last: lastAction('create', 100, { ok: false, error: 'No such image: x' }),
      failures: 3,
    });
    const [mark] = pass(given({ desired: [pod()], history: { 'acme/web': history } })).actions;
    assert.deepEqual(mark, {
      kind: 'markFailing',
      ...target,
      reason: 'action-failed',
      failures: 3,
      exitCode: null,
      lastError: 'No such image: x',
      summary: 'create failed 3 times in a row: No such image: x; next try in 3.9 s',
      cause: null,
    });
  });

  test('a pod not wanted running is never marked failing (its stop or removal just backs off)', () => {
    const c = container();
    const history = historyOf({ last: lastAction('stop', 100, { ok: false, error: 'x' }), failures: 5 });
    const plan = planFor(c, history, NOW, pod({ desired: 'stopped' }));
    assert.deepEqual(plan.actions, []);
    assert.equal(plan.waits.at(0)?.reason, 'action-backoff');
  });
});

describe('recovered', () => {
  const failing = (since: Date, generation = 1, extra: Partial<PodHistory> = {}) =>
    historyOf({ failing: { generation, since }, recovery: { reason: 'crash', attempt: 4, at: since }, ...extra });
  const recovered = { kind: 'markRecovered', ...target, cause: null };

  test('a failing pod whose container ran healthy for the reset period since the mark recovers', () => {
    const c = container({ startedAt: ago(RESET + 5_000) });
    assert.deepEqual(planFor(c, failing(ago(RESET))).actions, [recovered]);
    assert.deepEqual(planFor(c, failing(ago(RESET - 1))).actions, []);
    // A run that started after the mark counts from its start.
    assert.deepEqual(planFor(container({ startedAt: ago(RESET - 1) }), failing(ago(2 * RESET))).actions, []);
  });

  test('not while its check says unhealthy or is still starting; healthy counts', () => {
    const long = { startedAt: ago(2 * RESET) };
    assert.ok(
      planFor(container({ ...long, health: 'healthy' }), failing(ago(RESET))).actions.at(0)?.kind === 'markRecovered',
    );
    assert.deepEqual(planFor(container({ ...long, health: 'starting' }), failing(ago(RESET))).actions, []);
    const sick = planFor(container({ ...long, health: 'unhealthy', observedAt: NOW }), failing(ago(RESET)));
    assert.ok(!sick.actions.some((a) => a.kind === 'markRecovered'));
  });

  test('a newer generation than the failing one that runs healthy recovers it at once', () => {
    const c = container({ generation: 2, startedAt: ago(1_000), health: 'healthy' });
    assert.deepEqual(planFor(c, failing(ago(MINUTE)), NOW, pod({ generation: 2 })).actions, [
      { ...recovered, generation: 2 },
    ]);
  });

  test('a failing pod stopped or deleted recovers first, then is stopped or removed', () => {
    const c = crashed(100, 10);
    assert.deepEqual(planFor(c, failing(ago(MINUTE)), NOW, pod({ desired: 'stopped' })).actions, [recovered]);
    const deleted = pod({ deletion: { eventId: 'evt-deleted', keepVolume: true } });
    assert.deepEqual(planFor(c, failing(ago(MINUTE)), NOW, deleted).actions, [recovered]);
  });

  test('nothing on an unreachable node, not even the mark', () => {
    const world = given({
      desired: [pod({ desired: 'stopped' })],
      history: { 'acme/web': failing(ago(MINUTE)) },
      online: new Set([OTHER_NODE]),
    });
    const plan = pass(world);
    assert.deepEqual(plan.actions, []);
    assert.equal(plan.waits.at(0)?.reason, 'node-unreachable');
  });
});
