import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connectPostgres, createLogger, LeaderLocks, type Sql } from '@agentpod/kit';
import { createTestDatabase, startNatsServer, type TestDatabase, type TestNatsServer } from '@agentpod/kit/testing';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { eventually } from '../testing/stack.testing.ts';
import { PRESENCE_SUBJECT, type Presence } from './presence.ts';
import { ShardKeeper } from './shard-keeper.ts';

/*
 * Shard keepers of "separate processes" (each its own NATS connection and lock session) on a private NATS and a
 * fresh database: they split the shards, a busy shard is given back only once idle, and the shards of one that
 * dies without a word (its connections just close) are taken by the other.
 */

const SHARDS = 8;
const TIMING = { pollMs: 50, presenceMs: 100, expiryMs: 400, settleMs: 50 };

const idleStats = (): Presence['stats'] => ({
  passes: 0,
  lastPassMs: null,
  lastPassAt: null,
  podsPlanned: 0,
  actionsStarted: 0,
  actionsInFlight: 0,
  startedAt: new Date().toISOString(),
});

type Replica = {
  keeper: ShardKeeper;
  nc: NatsConnection;
  locks: LeaderLocks;
  busy: Set<number>;
  changes: number;
};

describe('shard keepers: split, hand-over, takeover', () => {
  let nats: TestNatsServer;
  let database: TestDatabase;
  let pool: Sql;
  const replicas: Replica[] = [];
  const logger = createLogger('shard-keeper-test', 'silent');

  const replica = async (instanceId: string): Promise<Replica> => {
    const nc = await connect({ servers: nats.url });
    const locks = new LeaderLocks({ sql: pool, logger });
    const made: Replica = { nc, locks, busy: new Set(), changes: 0 } as Replica;
    made.keeper = new ShardKeeper({
      locks,
      nc,
      logger,
      instanceId,
      shardCount: SHARDS,
      busy: () => made.busy,
      stats: idleStats,
      onChange: () => made.changes++,
      ...TIMING,
    });
    made.keeper.start();
    replicas.push(made);
    return made;
  };

  before(async () => {
    nats = await startNatsServer();
    database = await createTestDatabase('agentpod_reconciler_shards');
    pool = (await connectPostgres({ url: database.url, logger })).sql;
  });
  after(async () => {
    for (const { keeper, locks, nc } of replicas) {
      await keeper.stop().catch(() => {});
      await locks.close().catch(() => {});
      await nc.close().catch(() => {});
    }
    await pool?.end({ timeout: 1 });
    await database?.drop();
    await nats?.stop();
  });

  test('one alone holds every shard; a second gets half once the first has no action in flight on them', async () => {
    const a = await replica('replica-a');
    await eventually('a holds every shard', async () => a.keeper.held().length === SHARDS, 10_000);
    assert.equal(a.keeper.actable().size, SHARDS);

    // a is busy on every shard: it must give none back yet, though b is live and below its share.
    for (let shard = 0; shard < SHARDS; shard++) a.busy.add(shard);
    const b = await replica('replica-b');
    await eventually('a sees b', async () => a.keeper.liveCount() === 2, 10_000);
    await eventually('a stops acting on the shards it gives back', async () => a.keeper.actable().size === SHARDS / 2);
    assert.equal(a.keeper.held().length, SHARDS, 'nothing is given back while busy');
    assert.deepEqual(b.keeper.held(), []);

    a.busy.clear();
    a.keeper.announce();
    await eventually('b holds half', async () => b.keeper.held().length === SHARDS / 2, 10_000);
    await eventually('a holds the other half', async () => a.keeper.held().length === SHARDS / 2, 10_000);
    const union = new Set([...a.keeper.held(), ...b.keeper.held()]);
    assert.equal(union.size, SHARDS, 'disjoint, and every shard held');
    await eventually('b may act on its half', async () => b.keeper.actable().size === SHARDS / 2);
  });

  test('a held shard waits while a live peer announces actions in flight on it (it lost the lock, not the actions)', async () => {
    const [, b] = replicas;
    assert.ok(b);
    const shard = b.keeper.held()[0];
    assert.ok(shard !== undefined);
    // A peer whose lock session died while an action of its own on that shard goes on: it holds nothing, cannot
    // take locks, and keeps announcing the shard busy until the action ends.
    const ghost: Presence = {
      instanceId: 'replica-ghost',
      shardCount: SHARDS,
      held: [],
      busy: [shard],
      accepting: false,
      leaving: false,
      stats: idleStats(),
    };
    const announce = () => b.nc.publish(PRESENCE_SUBJECT, JSON.stringify(ghost));
    announce();
    const repeating = setInterval(announce, TIMING.presenceMs);
    try {
      await eventually('b holds off the busy shard', async () => !b.keeper.actable().has(shard));
      assert.equal(b.keeper.held().length, SHARDS / 2, 'the ghost does not count for the fair share');
      ghost.busy = [];
      await eventually('b acts on it once the action ended', async () => b.keeper.actable().has(shard));
    } finally {
      clearInterval(repeating);
    }
  });

  test('the shards of a replica that dies without a word are taken by the other', async () => {
    const [a, b] = replicas;
    assert.ok(a && b);
    await eventually('a is back to its share', async () => a.keeper.held().length > 0, 10_000);
    // A SIGKILL: its NATS connection and lock session close, no goodbye.
    await a.nc.close();
    await a.locks.close();
    await eventually('b holds every shard', async () => b.keeper.held().length === SHARDS, 10_000);
    await eventually('and acts on them all', async () => b.keeper.actable().size === SHARDS, 10_000);
    assert.equal(b.keeper.liveCount(), 1);
  });
});
