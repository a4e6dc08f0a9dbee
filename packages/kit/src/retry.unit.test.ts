import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { backoffDelay, retry } from './retry.ts';

const noJitter = () => 1;

describe('backoffDelay', () => {
  test('starts at initialMs and grows by the factor (2 by default)', () => {
    const backoff = { initialMs: 100, maxMs: 1_000_000 };
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((attempt) => backoffDelay(backoff, attempt, noJitter)),
      [100, 200, 400, 800, 1_600],
    );
    assert.deepEqual(
      [0, 1, 2].map((attempt) => backoffDelay({ ...backoff, factor: 3 }, attempt, noJitter)),
      [100, 300, 900],
    );
  });

  test('never exceeds maxMs, however many attempts', () => {
    const backoff = { initialMs: 250, maxMs: 5_000 };
    assert.equal(backoffDelay(backoff, 4, noJitter), 4_000);
    assert.equal(backoffDelay(backoff, 5, noJitter), 5_000);
    assert.equal(backoffDelay(backoff, 60, noJitter), 5_000);
    // 2 ** 5000 is Infinity: the cap still holds.
    assert.equal(backoffDelay(backoff, 5_000, noJitter), 5_000);
  });

  test('jitter takes away at most its fraction of the delay (20% by default)', () => {
    const backoff = { initialMs: 1_000, maxMs: 10_000 };
    assert.equal(
      backoffDelay(backoff, 0, () => 0),
      800,
    );
    assert.equal(
      backoffDelay(backoff, 0, () => 0.5),
      900,
    );
    assert.equal(
      backoffDelay(backoff, 0, () => 0.999_999),
      1_000,
    );
    assert.equal(
      backoffDelay({ ...backoff, jitter: 1 }, 0, () => 0),
      0,
      'full jitter may wait nothing',
    );
    assert.equal(
      backoffDelay({ ...backoff, jitter: 0 }, 3, () => 0),
      8_000,
      'no jitter: always the base',
    );
  });

  test('any attempt, jitter and random draw: a whole number between (1 - jitter) × base and the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 200 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (initialMs, maxExtra, attempt, jitter, draw) => {
          const backoff = { initialMs, maxMs: initialMs + maxExtra, jitter };
          const base = Math.min(backoff.maxMs, initialMs * 2 ** attempt);
          const delay = backoffDelay(backoff, attempt, () => draw);
          assert.ok(Number.isInteger(delay));
          assert.ok(delay <= backoff.maxMs, `${delay} > cap ${backoff.maxMs}`);
          assert.ok(delay >= Math.floor(base * (1 - jitter)), `${delay} < ${base * (1 - jitter)}`);
        },
      ),
    );
  });
});

describe('retry', () => {
  const fast = { initialMs: 1, maxMs: 2 };

  test('calls again after each failure until it succeeds, telling onRetry about each failure', async () => {
    const calls: number[] = [];
    const retries: [string, number][] = [];
    const result = await retry(
      async (attempt) => {
        calls.push(attempt);
        if (attempt < 2) throw new Error(`down ${attempt}`);
        return 'up';
      },
      { ...fast, onRetry: (error, attempt) => retries.push([(error as Error).message, attempt]) },
    );
    assert.equal(result, 'up');
    assert.deepEqual(calls, [0, 1, 2]);
    assert.deepEqual(retries, [
      ['down 0', 0],
      ['down 1', 1],
    ]);
  });

  test('gives up after `attempts` tries with the last error', async () => {
    let calls = 0;
    await assert.rejects(
      retry(
        async (attempt) => {
          calls++;
          throw new Error(`failure ${attempt}`);
        },
        { ...fast, attempts: 3 },
      ),
      { message: 'failure 2' },
    );
    assert.equal(calls, 3);
  });

  test('stops waiting when its signal aborts', async () => {
    const controller = new AbortController();
    let calls = 0;
    await assert.rejects(
      retry(
        async () => {
          calls++;
          throw new Error('down');
        },
        // A wait far longer than any test: only the abort can end it.
        { initialMs: 3_600_000, maxMs: 3_600_000, signal: controller.signal, onRetry: () => controller.abort() },
      ),
      { name: 'AbortError' },
    );
    assert.equal(calls, 1);
  });
});
