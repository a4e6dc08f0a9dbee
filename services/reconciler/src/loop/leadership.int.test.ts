import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connectPostgres, createLogger, LeaderLocks, type Sql } from '@agentpod/kit';
import { createTestDatabase, type TestDatabase } from '@agentpod/kit/testing';
import { lead } from './leadership.ts';

/* Two would-be leaders on one PostgreSQL advisory lock: one acts, the other waits, and takes over when it goes. */

describe('leadership: one instance acts at a time', () => {
  let database: TestDatabase;
  const pools: Sql[] = [];
  const locks: LeaderLocks[] = [];
  const logger = createLogger('leadership-test', 'silent');

  before(async () => {
    database = await createTestDatabase('agentpod_reconciler_lead');
    for (let i = 0; i < 2; i++) pools.push((await connectPostgres({ url: database.url, logger })).sql);
    // Two processes' worth of lock sessions.
    for (const sql of pools) locks.push(new LeaderLocks({ sql, logger }));
  });
  after(async () => {
    for (const lock of locks) await lock.close();
    for (const pool of pools) await pool.end({ timeout: 1 });
    await database?.drop();
  });

  test('the second waits while the first leads, and leads once the first stops', async () => {
    const leading = new Set<string>();
    const log: string[] = [];
    const started: Record<string, () => void> = {};
    const startedBy = (name: string) => new Promise<void>((resolve) => (started[name] = resolve));
    const contender = (name: string, processLocks: LeaderLocks) => {
      const stop = new AbortController();
      const done = lead({
        locks: processLocks,
        key: 'agentpod.test.lead',
        logger,
        signal: stop.signal,
        pollMs: 20,
        whileLeading: async (lost) => {
          // Recorded, not asserted here: lead() would catch a throw and simply try again.
          if (leading.size > 0) log.push(`${name} leads while ${[...leading].join()} does`);
          leading.add(name);
          log.push(`${name} leads`);
          started[name]?.();
          await new Promise((resolve) => lost.addEventListener('abort', resolve, { once: true }));
          leading.delete(name);
          log.push(`${name} steps down`);
        },
      });
      return { stop: () => stop.abort(), done };
    };
    const [poolA, poolB] = pools;
    const [locksA, locksB] = locks;
    assert.ok(poolA && poolB && locksA && locksB);
    const firstLeads = startedBy('first');
    const first = contender('first', locksA);
    await firstLeads;
    const secondLeads = startedBy('second');
    const second = contender('second', locksB);
    // The second polls the lock several times meanwhile; it must not have it while the first holds it.
    const seenSeveralPolls = poolB`select pg_sleep(0.2)`;
    await seenSeveralPolls;
    assert.deepEqual(log, ['first leads']);
    first.stop();
    await first.done;
    await secondLeads;
    second.stop();
    await second.done;
    assert.deepEqual(log, ['first leads', 'first steps down', 'second leads', 'second steps down']);
  });
});
