import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NodeLiveness, ONLINE_WINDOW_MS } from './liveness.ts';

const A = 'nod_aaaaaaaaaaaaaaaaaaaaaaaa';
const B = 'nod_bbbbbbbbbbbbbbbbbbbbbbbb';

describe('node liveness from heartbeats', () => {
  test('a node is online until its heartbeat is three intervals old, and its return is announced', () => {
    let now = Date.parse('2026-03-01T12:00:00Z');
    const returned: string[] = [];
    const liveness = new NodeLiveness(
      () => new Date(now),
      (nodeId) => returned.push(nodeId),
    );
    assert.deepEqual(liveness.online(), new Set());

    liveness.heard(A);
    liveness.heard(A);
    assert.deepEqual(liveness.online(), new Set([A]));
    assert.deepEqual(returned, [A], 'a node already online does not return again');

    now += ONLINE_WINDOW_MS - 1;
    liveness.heard(B);
    assert.deepEqual(liveness.online(), new Set([A, B]));
    now += 1;
    assert.deepEqual(liveness.online(), new Set([B]));
    assert.equal(liveness.lastSeen(A)?.getTime(), now - ONLINE_WINDOW_MS);

    liveness.heard(A);
    assert.deepEqual(returned, [A, B, A], 'silent for too long, its next heartbeat is a return');
    assert.ok(ONLINE_WINDOW_MS <= 10_000, 'unreachable within 10 s');
  });

  test('a node whose socket is gone is offline at once, and returns with its next heartbeat', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    const returned: string[] = [];
    const liveness = new NodeLiveness(
      () => new Date(now),
      (nodeId) => returned.push(nodeId),
    );
    liveness.heard(A);
    liveness.lost(A);
    assert.deepEqual(liveness.online(), new Set(), 'offline within its heartbeat window');
    liveness.heard(A);
    assert.deepEqual(liveness.online(), new Set([A]));
    assert.deepEqual(returned, [A, A], 'heard again after being lost is a return, which triggers a pass');
  });
});
