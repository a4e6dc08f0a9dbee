import type { LeaderLocks, Logger } from '@agentpod/kit';

/*
 * A periodic job that one monitor instance runs at a time: whoever holds the advisory lock `key` runs `tick`
 * every `intervalMs` (or sooner, when poked or when the tick asks to look again earlier); the others wait and ask
 * for the lock again each interval, so a dead leader's work moves to another instance within one interval. Used by
 * the rule evaluator, the email and webhook senders and the metrics roll-up.
 */

export type LeaderLoopOptions = {
  locks: LeaderLocks;
  key: string;
  what: string;
  logger: Logger;
  intervalMs: number;
  /** One round of work; may answer how soon to run again (at most `intervalMs`). */
  tick: (signal: AbortSignal) => Promise<number | undefined>;
};

export class LeaderLoop {
  readonly #options: LeaderLoopOptions;
  readonly #abort = new AbortController();
  #running: Promise<void> | undefined;
  #poked = false;
  #wake: (() => void) | undefined;

  constructor(options: LeaderLoopOptions) {
    this.#options = options;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  /** Runs the next round now (a leader only; others ignore it). */
  poke(): void {
    this.#poked = true;
    this.#wake?.();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#wake?.();
    await this.#running;
  }

  async #run(): Promise<void> {
    const { locks, key, what, logger, intervalMs } = this.#options;
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      let lock: Awaited<ReturnType<LeaderLocks['tryAcquire']>>;
      try {
        lock = await locks.tryAcquire(key);
      } catch (error) {
        logger.error({ err: error }, `${what}: could not ask for the lock; trying again`);
        await this.#sleep(1_000, signal);
        continue;
      }
      if (!lock) {
        this.#poked = false;
        await this.#sleep(intervalMs, signal);
        continue;
      }
      logger.info(`${what}: holding the lock`);
      const led = AbortSignal.any([signal, lock.lost]);
      try {
        while (!led.aborted) {
          this.#poked = false;
          let waitMs: number | undefined;
          try {
            waitMs = await this.#options.tick(led);
          } catch (error) {
            if (led.aborted) break;
            logger.error({ err: error }, `${what}: a round failed; the next one tries again`);
          }
          await this.#sleep(Math.min(intervalMs, waitMs ?? intervalMs), led);
        }
      } finally {
        await lock.release();
      }
    }
  }

  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (this.#poked || signal.aborted || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.#wake = done;
    });
  }
}
