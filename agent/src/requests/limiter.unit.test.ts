import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '@agentpod/contracts';
import { createLimiter } from './limiter.ts';

const deferred = () => {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('request limiter', () => {
  test('never runs more than its concurrency at once, and runs every task in order', async () => {
    const limiter = createLimiter(2);
    const gates = Array.from({ length: 5 }, deferred);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const tasks = gates.map((gate, i) =>
      limiter.run(async () => {
        started.push(i);
        running += 1;
        most = Math.max(most, running);
        await gate.promise;
        running -= 1;
        return i;
      }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(started, [0, 1]);
    assert.equal(limiter.queued, 3);
    for (const gate of gates) {
      gate.resolve();
      await new Promise((resolve) => setImmediate(resolve));
      // A newcomer arriving while slots change hands must not get ahead of the queue.
      void limiter.run(async () => {});
    }
    assert.deepEqual(await Promise.all(tasks), [0, 1, 2, 3, 4]);
    assert.deepEqual(started, [0, 1, 2, 3, 4]);
    assert.equal(most, 2);
  });

  test('a failing task frees its slot', async () => {
    const limiter = createLimiter(1);
    await assert.rejects(
      limiter.run(async () => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(await limiter.run(async () => 'next'), 'next');
    assert.equal(limiter.running, 0);
  });

  test('a full queue refuses at once with unavailable', async () => {
    const limiter = createLimiter(1, 1);
    const gate = deferred();
    const first = limiter.run(() => gate.promise);
    const second = limiter.run(async () => {});
    await assert.rejects(
      limiter.run(async () => {}),
      (error: unknown) => error instanceof AppError && error.code === 'unavailable',
    );
    gate.resolve();
    await Promise.all([first, second]);
  });
});
