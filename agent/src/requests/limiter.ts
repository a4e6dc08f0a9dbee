import { AppError } from '@agentpod/contracts';

/**
 * Runs at most `concurrency` tasks at once; the rest wait in order. A queue longer than `maxQueued` refuses new
 * work with `unavailable` at once, so a flood of requests costs the node a bounded amount of memory.
 */
export function createLimiter(concurrency: number, maxQueued = 1_000) {
  let running = 0;
  const waiting: (() => void)[] = [];
  // A finishing task hands its slot straight to the next waiter, so a newcomer cannot slip in between.
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  };
  return {
    get running() {
      return running;
    },
    get queued() {
      return waiting.length;
    },
    async run<T>(task: () => Promise<T>): Promise<T> {
      if (running < concurrency) running += 1;
      else if (waiting.length >= maxQueued) throw new AppError('unavailable', 'the agent is busy; try again shortly');
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}
export type Limiter = ReturnType<typeof createLimiter>;
