import type { AttemptOutcome } from '@agentpod/contracts';

/** How a delivery is retried: AGENTPOD_WEBHOOK_BACKOFF_BASE_MS, _CAP_MS and _MAX_ATTEMPTS. */
export type RetryPolicy = { baseMs: number; capMs: number; maxAttempts: number };

/**
 * The wait after failed attempt `attempt` (1-based) before the next: base, 2×base, 4×base… capped. No jitter: the
 * deliveries of one alert go to different receivers, so there is no herd to spread, and a fixed schedule is one an
 * operator can read in the delivery log.
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
}

/** What attempt `attempt` comes to: delivered on a 2xx; else another try later, or failed after the last. */
export function attemptOutcome(
  policy: RetryPolicy,
  attempt: number,
  delivered: boolean,
  at: Date,
): { outcome: AttemptOutcome; nextAttemptAt: Date | null } {
  if (delivered) return { outcome: 'delivered', nextAttemptAt: null };
  if (attempt >= policy.maxAttempts) return { outcome: 'failed', nextAttemptAt: null };
  return { outcome: 'retrying', nextAttemptAt: new Date(at.getTime() + retryDelayMs(policy, attempt)) };
}

/** 2xx is delivered; anything else (a redirect included: it is not followed) is a failure. */
export const isDelivered = (statusCode: number | null): boolean =>
  statusCode !== null && statusCode >= 200 && statusCode < 300;
