import type { LeaderLocks, Logger, Sql } from '@agentpod/kit';
import { LeaderLoop } from '../leader-loop.ts';
import { type PassReport, rollUpAndExpire } from './rollup.ts';

/*
 * Runs a roll-up and retention pass every minute on ONE replica: the holder of the advisory lock
 * `agentpod.monitor.metrics-rollup` (a LeaderLoop). The others ask for the lock every interval, so one takes over
 * within a minute of the holder dying. A pass is idempotent, so a takeover mid-pass repeats work, never double counts.
 */

const LOCK_KEY = 'agentpod.monitor.metrics-rollup';

export type RollupJobOptions = {
  sql: Sql;
  locks: LeaderLocks;
  clock: () => Date;
  logger: Logger;
  /** Between passes, and between two asks for the lock (60 s). */
  intervalMs?: number;
};

export class MetricsRollupJob {
  readonly #options: RollupJobOptions;
  readonly #loop: LeaderLoop;

  constructor(options: RollupJobOptions) {
    this.#options = options;
    const { locks, logger, clock } = options;
    this.#loop = new LeaderLoop({
      locks,
      key: LOCK_KEY,
      what: 'metrics roll-up',
      logger,
      intervalMs: options.intervalMs ?? 60_000,
      tick: async () => {
        const started = performance.now();
        const report = await this.runOnce(clock());
        logger.debug({ ...report, ms: Math.round(performance.now() - started) }, 'metrics roll-up pass');
        return undefined;
      },
    });
  }

  start(): void {
    this.#loop.start();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
  }

  /** One pass now, at the clock's time, whoever leads (tests; a pass is safe to run concurrently). */
  runOnce(now: Date = this.#options.clock()): Promise<PassReport> {
    return rollUpAndExpire(this.#options.sql, now);
  }
}
