import type { LeaderLocks, Logger } from '@agentpod/kit';

/*
 * Who acts: the instance holding a PostgreSQL advisory lock (the kit's LeaderLocks: the lock lives exactly as
 * long as that process's lock session). The others poll and take over when the holder's session goes away. Issue 5
 * splits the work by holding several such locks, one per shard of pods, instead of this single one.
 */

export type LeadOptions = {
  locks: LeaderLocks;
  /** Names the lock; hashed to PostgreSQL's advisory lock key space. */
  key: string;
  logger: Logger;
  signal: AbortSignal;
  pollMs?: number;
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
  const { locks, key, logger, signal } = options;
  while (!signal.aborted) {
    let lock: Awaited<ReturnType<LeaderLocks['tryAcquire']>>;
    try {
      lock = await locks.tryAcquire(key);
    } catch (error) {
      if (signal.aborted) return;
      logger.error({ err: error, lock: key }, 'could not ask for the reconcile lock; trying again');
      await sleep(1_000, signal);
      continue;
    }
    if (!lock) {
      await sleep(options.pollMs ?? 1_000, signal);
      continue;
    }
    logger.info({ lock: key }, 'holding the reconcile lock; acting');
    const lost = new AbortController();
    const onAbort = () => lost.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const onLost = () => {
      logger.error({ lock: key }, 'lost the reconcile lock; stepping down');
      lost.abort();
    };
    lock.lost.addEventListener('abort', onLost, { once: true });
    try {
      await options.whileLeading(lost.signal);
    } catch (error) {
      logger.error({ err: error, lock: key }, 'reconcile leadership interrupted; trying again');
    } finally {
      signal.removeEventListener('abort', onAbort);
      lock.lost.removeEventListener('abort', onLost);
      lost.abort();
      await lock.release().catch(() => {});
    }
  }
}
