import { setTimeout as sleep } from 'node:timers/promises';

export type Backoff = {
  /** First delay in ms. */
  initialMs: number;
  /** Upper bound of a delay in ms. */
  maxMs: number;
  /** Multiplier between consecutive delays. */
  factor?: number;
  /** Fraction of each delay drawn at random (0 = none, 1 = "full jitter"). */
  jitter?: number;
};

/** Delay before attempt `attempt` (0-based) under `backoff`; `random` is a parameter so tests can fix it. */
export function backoffDelay(backoff: Backoff, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * (backoff.factor ?? 2) ** attempt);
  const jitter = backoff.jitter ?? 0.2;
  return Math.round(base * (1 - jitter + jitter * random()));
}

/**
 * Calls `fn` until it succeeds, waiting with exponential backoff between attempts. `onRetry` hears each failure,
 * so the caller can say which dependency is unreachable. Gives up after `attempts` tries (default: never) or when
 * `signal` aborts.
 */
export async function retry<T>(
  fn: (attempt: number) => Promise<T>,
  options: Backoff & {
    attempts?: number;
    signal?: AbortSignal;
    onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  },
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (options.attempts !== undefined && attempt + 1 >= options.attempts) throw error;
      if (options.signal?.aborted) throw error;
      const delayMs = backoffDelay(options, attempt);
      options.onRetry?.(error, attempt, delayMs);
      await sleep(delayMs, undefined, { signal: options.signal });
    }
  }
}
