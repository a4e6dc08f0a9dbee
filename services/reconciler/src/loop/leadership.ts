import type { Logger, Sql } from '@agentpod/kit';

/*
 * Who acts: the instance holding a PostgreSQL advisory lock (on a reserved connection, so the lock lives exactly
 * as long as that connection). The others poll and take over when the holder's connection goes away. Issue 5
 * splits the work by holding several such locks, one per shard of pods, instead of this single one.
 */

export type LeadOptions = {
  sql: Sql;
  /** Names the lock; hashed to PostgreSQL's advisory lock key space. */
  key: string;
  logger: Logger;
  signal: AbortSignal;
  pollMs?: number;
  /** How often the lock's connection is checked; a dead connection means a lost lock. */
  keepAliveMs?: number;
  /** Runs while the lock is held; `lost` aborts when it is lost or when `signal` aborts. Should return then. */
  whileLeading: (lost: AbortSignal) => Promise<void>;
};

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** Competes for the lock until `signal` aborts, running `whileLeading` each time it is won. */
export async function lead(options: LeadOptions): Promise<void> {
  const { sql, key, logger, signal } = options;
  while (!signal.aborted) {
    let connection: Awaited<ReturnType<Sql['reserve']>> | undefined;
    try {
      connection = await sql.reserve();
      const [row] = await connection<{ locked: boolean }[]>`select pg_try_advisory_lock(hashtext(${key})) as locked`;
      if (!row?.locked) {
        await sleep(options.pollMs ?? 1_000, signal);
        continue;
      }
      logger.info({ lock: key }, 'holding the reconcile lock; acting');
      const lost = new AbortController();
      const onAbort = () => lost.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      const held = connection;
      const keepAlive = setInterval(() => {
        held`select 1`.catch((error: unknown) => {
          logger.error({ err: error, lock: key }, 'lost the reconcile lock connection; stepping down');
          lost.abort();
        });
      }, options.keepAliveMs ?? 5_000);
      try {
        await options.whileLeading(lost.signal);
      } finally {
        clearInterval(keepAlive);
        signal.removeEventListener('abort', onAbort);
        lost.abort();
      }
    } catch (error) {
      if (signal.aborted) return;
      logger.error({ err: error, lock: key }, 'reconcile leadership interrupted; trying again');
      await sleep(1_000, signal);
    } finally {
      if (connection) {
        await connection`select pg_advisory_unlock_all()`.catch(() => {});
        connection.release();
      }
    }
  }
}
