import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextPassDelay } from './reconcile-loop.ts';

test('the next pass comes at the end of the first wait when that is sooner than the period, never in a busy loop', () => {
  const now = new Date('2025-01-02T03:04:05.000Z');
  const at = (ms: number) => new Date(now.getTime() + ms);
  assert.equal(nextPassDelay(null, now, 5_000), 5_000);
  assert.equal(nextPassDelay(at(1_000), now, 5_000), 1_000);
  assert.equal(nextPassDelay(at(60_000), now, 5_000), 5_000);
  assert.equal(nextPassDelay(at(-500), now, 5_000), 100);
  assert.equal(nextPassDelay(at(30), now, 5_000), 100);
});
