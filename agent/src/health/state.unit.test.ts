import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  afterProbe,
  type HealthState,
  initialHealth,
  nextProbeIn,
  type ProbeResult,
  START_INTERVAL_MS,
} from './state.ts';

/* The verdict state machine, with times as plain numbers (a fake clock): given a run and results, then a status. */

const timing = { intervalSeconds: 2, failureThreshold: 3, startGraceSeconds: 10 };
const ok: ProbeResult = { ok: true };
const fail = (error = 'GET /healthz answered 500'): ProbeResult => ({ ok: false, error });

/** Folds results probed at the given seconds after the run's start (which is at 0). */
function after(results: [seconds: number, result: ProbeResult][], state: HealthState = initialHealth(0)) {
  return results.reduce((s, [seconds, result]) => afterProbe(s, result, timing, seconds * 1_000), state);
}

describe('health verdicts', () => {
  test('starting until the first success, then healthy', () => {
    assert.equal(initialHealth(0).status, 'starting');
    assert.deepEqual(after([[1, ok]]), { status: 'healthy', failures: 0, lastError: null, startedAtMs: 0 });
  });

  test('failures within the start grace period do not count, however many; the last error is kept', () => {
    const state = after([
      [0, fail('connect ECONNREFUSED')],
      [2, fail()],
      [4, fail()],
      [6, fail()],
      [9.9, fail('still booting')],
    ]);
    assert.deepEqual(state, { status: 'starting', failures: 0, lastError: 'still booting', startedAtMs: 0 });
  });

  test('after the grace period, threshold consecutive failures make a starting run unhealthy', () => {
    const two = after([
      [10, fail()],
      [12, fail()],
    ]);
    assert.deepEqual([two.status, two.failures], ['starting', 2]);
    const three = after([[14, fail('timed out')]], two);
    assert.deepEqual([three.status, three.failures, three.lastError], ['unhealthy', 3, 'timed out']);
  });

  test('a healthy run stays healthy through fewer failures than the threshold; a success forgets them', () => {
    const wobbly = after([
      [1, ok],
      [20, fail()],
      [22, fail()],
      [24, ok],
      [26, fail()],
      [28, fail()],
    ]);
    assert.deepEqual([wobbly.status, wobbly.failures], ['healthy', 2]);
    assert.equal(after([[30, fail()]], wobbly).status, 'unhealthy');
  });

  test('an unhealthy run recovers with one success', () => {
    const sick = after([
      [1, ok],
      [20, fail()],
      [22, fail()],
      [24, fail()],
    ]);
    assert.equal(sick.status, 'unhealthy');
    assert.deepEqual(after([[26, ok]], sick), { status: 'healthy', failures: 0, lastError: null, startedAtMs: 0 });
  });

  test('a healthy run failing within its grace period stays healthy (those failures do not count either)', () => {
    const state = after([
      [1, ok],
      [3, fail()],
      [5, fail()],
      [7, fail()],
    ]);
    assert.deepEqual([state.status, state.failures], ['healthy', 0]);
  });

  test('threshold 1: the first counted failure is enough', () => {
    const strict = { ...timing, failureThreshold: 1, startGraceSeconds: 0 };
    assert.equal(afterProbe(initialHealth(0), fail(), strict, 0).status, 'unhealthy');
  });
});

describe('when to probe next', () => {
  test('one interval after the previous probe began; at once when the probe took longer', () => {
    const healthy = after([[1, ok]]);
    assert.equal(nextProbeIn(healthy, timing, 20_000, 20_100), 1_900);
    assert.equal(nextProbeIn(healthy, timing, 20_000, 23_000), 0);
  });

  test('while starting within the grace period, every START_INTERVAL_MS; after it, the interval', () => {
    const starting = initialHealth(0);
    assert.equal(nextProbeIn(starting, timing, 1_000, 1_010), START_INTERVAL_MS - 10);
    assert.equal(nextProbeIn(starting, timing, 11_000, 11_010), 1_990);
    const quick = { ...timing, intervalSeconds: 1 };
    assert.ok(nextProbeIn(starting, quick, 0, 0) <= 1_000, 'never slower than the interval');
  });
});
