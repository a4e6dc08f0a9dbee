import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  actableShards,
  byPreference,
  decideShards,
  fairShare,
  fnv1a,
  type Peer,
  type ShardState,
  shardLockKey,
  shardOf,
  trackUnclaimed,
} from './shards.ts';

const all = (n: number) => Array.from({ length: n }, (_, i) => i);

const state = (overrides: Partial<ShardState>): ShardState => ({
  shards: 16,
  self: 'a',
  held: new Set(),
  releasing: new Set(),
  peers: [],
  unclaimedSince: new Map(),
  now: 0,
  orphanAfterMs: 3_000,
  ...overrides,
});

describe('shard of a pod', () => {
  test('FNV-1a 32-bit matches its reference values', () => {
    assert.equal(fnv1a(''), 0x811c9dc5);
    assert.equal(fnv1a('a'), 0xe40c292c);
    assert.equal(fnv1a('foobar'), 0xbf9cf968);
    // UTF-8 bytes, not UTF-16 code units.
    assert.notEqual(fnv1a('é'), fnv1a('\u00e9'.normalize('NFD')));
  });

  test('stable, in range, and spread evenly over the shards', () => {
    assert.equal(shardOf('acme/web', 16), shardOf('acme/web', 16));
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) {
      const shard = shardOf(`tenant${i % 97}/pod-${i}`, 16);
      assert.ok(Number.isInteger(shard) && shard >= 0 && shard < 16);
      counts[shard] = (counts[shard] ?? 0) + 1;
    }
    // 1000 expected per shard; a fair hash stays well within ±15 %.
    for (const count of counts) assert.ok(count > 850 && count < 1_150, `uneven split: ${counts.join(' ')}`);
  });

  test('lock keys name the shard', () => {
    assert.equal(shardLockKey(3), 'agentpod.reconciler.shard.3');
  });
});

describe('fair share', () => {
  test('ceil(N / live), never less than one instance', () => {
    assert.equal(fairShare(16, 1), 16);
    assert.equal(fairShare(16, 2), 8);
    assert.equal(fairShare(16, 3), 6);
    assert.equal(fairShare(3, 5), 1);
    assert.equal(fairShare(16, 0), 16);
  });

  test('preference orders every shard, differently per instance', () => {
    const a = byPreference('a', all(16));
    const b = byPreference('b', all(16));
    assert.deepEqual(
      [...a].sort((x, y) => x - y),
      all(16),
    );
    assert.notDeepEqual(a, b);
  });
});

describe('decideShards', () => {
  test('alone: every free shard, best first', () => {
    const decision = decideShards(state({}));
    assert.equal(decision.want, 16);
    assert.equal(decision.room, 16);
    assert.deepEqual(decision.acquire, byPreference('a', all(16)));
  });

  test('a newcomer next to a replica holding everything waits: nothing is free', () => {
    const decision = decideShards(
      state({ self: 'b', peers: [{ instanceId: 'a', held: all(16), busy: [], accepting: true }] }),
    );
    assert.equal(decision.want, 8);
    assert.deepEqual(decision.acquire, []);
    assert.deepEqual(decision.release, []);
  });

  test('the holder of everything gives back the extras it prefers least once a second replica is live', () => {
    const decision = decideShards(
      state({ held: new Set(all(16)), peers: [{ instanceId: 'b', held: [], busy: [], accepting: true }] }),
    );
    assert.equal(decision.want, 8);
    assert.deepEqual(decision.release, byPreference('a', all(16)).slice(8).reverse());
    assert.deepEqual(decision.acquire, []);
  });

  test('at its share nothing moves', () => {
    const decision = decideShards(
      state({ held: new Set(all(8)), peers: [{ instanceId: 'b', held: all(16).slice(8), busy: [], accepting: true }] }),
    );
    assert.deepEqual([decision.release, decision.keep, decision.acquire, decision.adopt], [[], [], [], []]);
  });

  test('shards being given back are kept when the share grows (a peer left)', () => {
    const decision = decideShards(state({ held: new Set(all(16)), releasing: new Set([14, 15]) }));
    assert.deepEqual(decision.keep.sort(), [14, 15]);
    assert.equal(decision.room, 0);
  });

  test('a peer that cannot take locks does not count for the share', () => {
    const decision = decideShards(
      state({ held: new Set(all(16)), peers: [{ instanceId: 'b', held: [], busy: [], accepting: false }] }),
    );
    assert.equal(decision.want, 16);
    assert.deepEqual(decision.release, []);
  });

  test('a shard nobody claims for long enough is adopted above the share', () => {
    const peers: Peer[] = [{ instanceId: 'b', held: all(15).slice(8), busy: [], accepting: true }];
    const held = new Set(all(8));
    const early = decideShards(state({ held, peers, unclaimedSince: new Map([[15, 0]]), now: 2_999 }));
    assert.deepEqual(early.adopt, []);
    const late = decideShards(state({ held, peers, unclaimedSince: new Map([[15, 0]]), now: 3_000 }));
    assert.deepEqual(late.adopt, [15]);
  });

  test('unclaimed times: kept while nobody holds a shard, forgotten once someone does', () => {
    const first = trackUnclaimed(
      new Map(),
      4,
      new Set([0]),
      [{ instanceId: 'b', held: [1], busy: [], accepting: true }],
      100,
    );
    assert.deepEqual(
      [...first],
      [
        [2, 100],
        [3, 100],
      ],
    );
    const second = trackUnclaimed(
      first,
      4,
      new Set([0, 2]),
      [{ instanceId: 'b', held: [1], busy: [], accepting: true }],
      200,
    );
    assert.deepEqual([...second], [[3, 100]]);
  });
});

describe('actable shards', () => {
  test('held, not being given back, and not busy at a live peer (its actions in flight there go first)', () => {
    const actable = actableShards(new Set([1, 2, 3, 4]), new Set([2]), [
      { instanceId: 'b', held: [], busy: [3, 9], accepting: true },
    ]);
    assert.deepEqual([...actable].sort(), [1, 4]);
  });
});

/**
 * Replicas ticking in any order over a simulated lock table, with what each announces known to the others at once,
 * until nothing moves: every shard held by exactly one, nobody above its share; then one dies (its locks go with
 * its session) and the others cover its shards.
 */
describe('replicas converge', () => {
  type Replica = { id: string; held: Set<number>; releasing: Set<number>; unclaimed: Map<number, number> };

  function simulate(shards: number, replicas: Replica[], order: number[], now: number) {
    const locks = new Map<number, string>();
    for (const replica of replicas) for (const shard of replica.held) locks.set(shard, replica.id);
    let moved = false;
    for (const index of order) {
      const replica = replicas[index % replicas.length];
      if (!replica) continue;
      const peers = replicas
        .filter((other) => other !== replica)
        .map((other) => ({ instanceId: other.id, held: [...other.held], busy: [], accepting: true }));
      replica.unclaimed = trackUnclaimed(replica.unclaimed, shards, replica.held, peers, now);
      const decision = decideShards({
        shards,
        self: replica.id,
        held: replica.held,
        releasing: replica.releasing,
        peers,
        unclaimedSince: replica.unclaimed,
        now,
        orphanAfterMs: 3_000,
      });
      for (const shard of decision.keep) replica.releasing.delete(shard);
      for (const shard of decision.release) replica.releasing.add(shard);
      for (const shard of [...replica.releasing]) {
        replica.releasing.delete(shard);
        replica.held.delete(shard);
        locks.delete(shard);
        moved = true;
      }
      const take = (shard: number) => {
        if (locks.has(shard)) return false;
        locks.set(shard, replica.id);
        replica.held.add(shard);
        moved = true;
        return true;
      };
      let room = decision.room;
      for (const shard of decision.acquire) if (room > 0 && take(shard)) room--;
      for (const shard of decision.adopt) take(shard);
    }
    return moved;
  }

  function settle(shards: number, replicas: Replica[], orders: number[][]) {
    let now = 0;
    for (const order of orders) {
      now += 500;
      simulate(shards, replicas, order, now);
    }
    // Then plain rounds (time passing, so orphans count) until a round moves nothing.
    for (let round = 0; round < 50; round++) {
      now += 500;
      if (!simulate(shards, replicas, all(replicas.length), now)) return;
    }
    assert.fail('the replicas never settled');
  }

  function assertSplit(shards: number, replicas: Replica[]) {
    const owners = new Map<number, string[]>();
    for (const replica of replicas)
      for (const shard of replica.held) owners.set(shard, [...(owners.get(shard) ?? []), replica.id]);
    assert.deepEqual(
      [...owners.keys()].sort((a, b) => a - b),
      all(shards),
      'every shard is held',
    );
    for (const [shard, who] of owners) assert.equal(who.length, 1, `shard ${shard} held by ${who.join(', ')}`);
    const want = fairShare(shards, replicas.length);
    for (const replica of replicas) assert.ok(replica.held.size <= want, `${replica.id} holds above its share`);
  }

  test('from any start order, and after one dies', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.array(fc.nat(10), { maxLength: 6 }), { maxLength: 6 }),
        fc.nat(),
        (shards, count, orders, victim) => {
          const replicas: Replica[] = Array.from({ length: count }, (_, i) => ({
            id: `r${i}`,
            held: new Set(),
            releasing: new Set(),
            unclaimed: new Map(),
          }));
          settle(shards, replicas, orders);
          assertSplit(shards, replicas);
          if (count === 1) return;
          replicas.splice(victim % count, 1);
          settle(shards, replicas, orders);
          assertSplit(shards, replicas);
        },
      ),
      { numRuns: 200 },
    );
  });
});
