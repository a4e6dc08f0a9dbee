import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RECONNECT_BACKOFF, ReconnectBackoff, STABLE_CONNECTION_MS } from './backoff.ts';

const low = () => 0;
const high = () => 0.999_999;

describe('reconnect backoff', () => {
  test('doubles from 0.5 s to a 30 s cap, with the jitter taking at most half of each delay', () => {
    const top = new ReconnectBackoff(RECONNECT_BACKOFF, high);
    const bottom = new ReconnectBackoff(RECONNECT_BACKOFF, low);
    const highs = Array.from({ length: 10 }, (_, i) => top.next(i, false));
    const lows = Array.from({ length: 10 }, (_, i) => bottom.next(i, false));
    assert.deepEqual(highs, [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000, 30_000]);
    assert.deepEqual(lows, [250, 500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000, 15_000]);
  });

  test('a refused credential waits the longest delay every time', () => {
    const backoff = new ReconnectBackoff(RECONNECT_BACKOFF, high);
    assert.equal(backoff.next(0, true), 30_000);
    assert.equal(backoff.next(1, true), 30_000);
    // And a plain failure after refusals does not start from 0.5 s again.
    assert.ok(backoff.next(2, false) > 500);
  });

  test('a connection that stayed up starts the backoff afresh', () => {
    const backoff = new ReconnectBackoff(RECONNECT_BACKOFF, high);
    for (let i = 0; i < 5; i++) backoff.next(0, false);
    backoff.opened(1_000);
    assert.equal(backoff.next(1_000 + STABLE_CONNECTION_MS, false), 500);
  });

  test('a connection dropped right after opening keeps backing off', () => {
    const backoff = new ReconnectBackoff(RECONNECT_BACKOFF, high);
    for (let i = 0; i < 5; i++) backoff.next(0, false);
    backoff.opened(1_000);
    assert.equal(backoff.next(1_100, false), 16_000);
  });
});
