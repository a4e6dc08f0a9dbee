import type { PlanPolicy } from './model.ts';

/*
 * The crash backoff curve and the planner's policy. Recovery attempt 1 is made at once; attempt n >= 2 waits
 * base * 2^(n-2) (1 s, 2 s, 4 s …) up to the cap. A failed action's k-th retry waits as attempt k + 1 would.
 */

/** The environment variables the policy is read from (a subset of ReconcilerEnv, so tests can pass a literal). */
export type PolicyEnv = {
  AGENTPOD_RECONCILE_INTERVAL_MS: number;
  AGENTPOD_RECONCILE_BACKOFF_BASE_MS: number;
  AGENTPOD_RECONCILE_BACKOFF_CAP_MS: number;
  AGENTPOD_RECONCILE_RESET_AFTER_MS: number;
  AGENTPOD_RECONCILE_FAILING_AFTER: number;
};

/** The planner's policy from the service's environment; a cap below the base is refused by name. */
export function policyFrom(env: PolicyEnv): PlanPolicy {
  const base = env.AGENTPOD_RECONCILE_BACKOFF_BASE_MS;
  const cap = env.AGENTPOD_RECONCILE_BACKOFF_CAP_MS;
  if (cap < base)
    throw new Error(
      `AGENTPOD_RECONCILE_BACKOFF_CAP_MS (${cap}) must be at least AGENTPOD_RECONCILE_BACKOFF_BASE_MS (${base})`,
    );
  return {
    backoffBaseMs: base,
    backoffCapMs: cap,
    resetAfterMs: env.AGENTPOD_RECONCILE_RESET_AFTER_MS,
    failingAfter: env.AGENTPOD_RECONCILE_FAILING_AFTER,
    // An observation is expected within a period of the action (the agent reports a settled burst within 5 s).
    observeGraceMs: env.AGENTPOD_RECONCILE_INTERVAL_MS,
  };
}

/** The defaults of ReconcilerEnv. */
export const DEFAULT_POLICY: PlanPolicy = policyFrom({
  AGENTPOD_RECONCILE_INTERVAL_MS: 5_000,
  AGENTPOD_RECONCILE_BACKOFF_BASE_MS: 1_000,
  AGENTPOD_RECONCILE_BACKOFF_CAP_MS: 300_000,
  AGENTPOD_RECONCILE_RESET_AFTER_MS: 600_000,
  AGENTPOD_RECONCILE_FAILING_AFTER: 3,
});

/** How long recovery attempt `attempt` waits: 0 for the first, then base doubling up to the cap. */
export function backoffDelay(attempt: number, policy: Pick<PlanPolicy, 'backoffBaseMs' | 'backoffCapMs'>): number {
  if (attempt <= 1) return 0;
  // 2^(n-2) overflows to Infinity for huge n, which the cap absorbs.
  return Math.min(policy.backoffCapMs, policy.backoffBaseMs * 2 ** (attempt - 2));
}

/** A wait for people: "800 ms", "1.5 s", "8 s", "5 min", "2 min 30 s", "1 h 5 min". */
export function formatDuration(ms: number): string {
  const value = Math.max(0, Math.round(ms));
  if (value < 1_000) return `${value} ms`;
  if (value < 10_000) return `${Number((value / 1_000).toFixed(1))} s`;
  const seconds = Math.round(value / 1_000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
}
