import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nodeLiveness, ONLINE_WINDOW_MS } from './liveness.ts';

const T0 = new Date('2026-03-01T12:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const base = { removed: false, connectedAt: null, disconnectedAt: null, heartbeat: undefined, now: T0 };

describe('node liveness', () => {
  test('never seen: pending; removed: removed whatever else', () => {
    assert.deepEqual(nodeLiveness(base), { status: 'pending', lastSeenAt: null });
    assert.equal(nodeLiveness({ ...base, removed: true, heartbeat: T0 }).status, 'removed');
  });

  test('online while the last sign of life is within three heartbeat intervals; unreachable after three missed', () => {
    assert.equal(ONLINE_WINDOW_MS, 9_000);
    const connected = { ...base, connectedAt: T0 };
    assert.equal(nodeLiveness({ ...connected, now: at(5_000) }).status, 'online');
    assert.equal(nodeLiveness({ ...connected, heartbeat: at(9_000), now: at(18_000) }).status, 'online');
    const silent = nodeLiveness({ ...connected, heartbeat: at(3_000), now: at(12_001) });
    assert.deepEqual(silent, { status: 'unreachable', lastSeenAt: at(3_000).toISOString() });
  });

  test('decided when read: the same heartbeat reads online, then unreachable a moment later', () => {
    const connected = { ...base, connectedAt: T0, heartbeat: at(1_000) };
    assert.equal(nodeLiveness({ ...connected, now: at(10_000) }).status, 'online');
    assert.equal(nodeLiveness({ ...connected, now: at(10_001) }).status, 'unreachable');
  });

  test('a closed socket is unreachable at once; a heartbeat after it means the node is back', () => {
    const closed = { ...base, connectedAt: T0, disconnectedAt: at(1_000), heartbeat: at(500), now: at(1_500) };
    assert.deepEqual(nodeLiveness(closed), { status: 'unreachable', lastSeenAt: at(1_000).toISOString() });
    assert.equal(nodeLiveness({ ...closed, heartbeat: at(1_200) }).status, 'online');
    assert.equal(nodeLiveness({ ...closed, connectedAt: at(1_100) }).status, 'online');
  });
});
