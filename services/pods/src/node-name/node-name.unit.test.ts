import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { accepted, foldAt, refusedWith } from '../testing/given.ts';
import { decideName } from './decide.ts';
import { nameAggregate } from './events.ts';

const T0 = new Date('2026-03-01T12:00:00.000Z');
const A = 'nod_aaaaaaaaaaaaaaaaaaaaaaaa';
const B = 'nod_bbbbbbbbbbbbbbbbbbbbbbbb';
const claimedByA = foldAt(nameAggregate, [{ type: 'NodeNameClaimed', data: { name: 'alpha', nodeId: A } }], T0);
const claim = (holder: 'live' | 'removed' | 'never-added' | undefined, now = T0) =>
  decideName(
    { type: 'ClaimName', name: 'alpha', nodeId: B, holder: holder ? { nodeId: A, state: holder } : undefined, now },
    claimedByA,
  );

describe('node name claims', () => {
  test('a free name is claimed; the holder claiming again decides nothing', () => {
    const free = decideName(
      { type: 'ClaimName', name: 'alpha', nodeId: B, holder: undefined, now: T0 },
      nameAggregate.initialState,
    );
    assert.deepEqual(accepted(free), [{ type: 'NodeNameClaimed', data: { name: 'alpha', nodeId: B } }]);
    const again = decideName({ type: 'ClaimName', name: 'alpha', nodeId: A, holder: undefined, now: T0 }, claimedByA);
    assert.deepEqual(accepted(again), []);
  });

  test('a name held by a live node is refused; by a removed node it passes on', () => {
    refusedWith(claim('live'), 'conflict', /a node named alpha exists already/);
    assert.equal(accepted(claim('removed')).length, 1);
  });

  test('a claim whose node was never added passes on only once it is abandoned', () => {
    refusedWith(claim('never-added', new Date(T0.getTime() + 1_000)), 'conflict');
    assert.equal(accepted(claim('never-added', new Date(T0.getTime() + 120_000))).length, 1);
  });

  test('only the holder releases a name', () => {
    assert.deepEqual(accepted(decideName({ type: 'ReleaseName', name: 'alpha', nodeId: B }, claimedByA)), []);
    const released = decideName({ type: 'ReleaseName', name: 'alpha', nodeId: A }, claimedByA);
    assert.equal(foldAt(nameAggregate, accepted(released), T0, claimedByA).claimed, false);
  });
});
