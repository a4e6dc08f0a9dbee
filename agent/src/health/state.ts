import type { HealthCheck, ProbeHealth } from '@agentpod/contracts';

/*
 * The verdict of one container's health probe over one run, as a pure state machine: `afterProbe` folds a probe
 * result in, `nextProbeIn` says when to probe next. Times are milliseconds passed in by the caller, so tests drive
 * it with a fake clock.
 */

export type HealthState = {
  status: ProbeHealth;
  /** Consecutive failures that counted; reset by a success. */
  failures: number;
  lastError: string | null;
  /** When the run began (the container's start): the start grace period is counted from here. */
  startedAtMs: number;
};

export type ProbeResult = { ok: true } | { ok: false; error: string };

export type Timing = Pick<HealthCheck, 'intervalSeconds' | 'failureThreshold' | 'startGraceSeconds'>;

/**
 * How often a run is probed while it is `starting` within its grace period (Docker's `--start-interval`): a
 * workload is known healthy about this soon after it is, instead of a whole interval later. Those failures do
 * not count, so probing faster then cannot make anything unhealthy sooner.
 */
export const START_INTERVAL_MS = 500;

export const initialHealth = (startedAtMs: number): HealthState => ({
  status: 'starting',
  failures: 0,
  lastError: null,
  startedAtMs,
});

/** Within the start grace period: failures do not count yet. */
export const inGrace = (state: HealthState, timing: Timing, nowMs: number): boolean =>
  nowMs < state.startedAtMs + timing.startGraceSeconds * 1_000;

/**
 * One probe's result folded in. A success makes the run healthy and forgets the failures; a failure within the
 * grace period is remembered as the last error but does not count; any other failure counts, and the run is
 * unhealthy once `failureThreshold` of them came in a row. Until then the status stays what it was: `starting`
 * until the first success, `healthy` through fewer failures than the threshold.
 */
export function afterProbe(state: HealthState, result: ProbeResult, timing: Timing, nowMs: number): HealthState {
  if (result.ok) return { ...state, status: 'healthy', failures: 0, lastError: null };
  if (inGrace(state, timing, nowMs)) return { ...state, lastError: result.error };
  const failures = state.failures + 1;
  return {
    ...state,
    failures,
    lastError: result.error,
    status: failures >= timing.failureThreshold ? 'unhealthy' : state.status,
  };
}

/**
 * Milliseconds from the end of a probe to the start of the next: one interval from the previous probe's start
 * (the start interval while starting within the grace period), at once if the probe took longer than that.
 * Probes of one container never overlap: the next one is only scheduled when the previous one ended.
 */
export function nextProbeIn(state: HealthState, timing: Timing, probeStartedMs: number, nowMs: number): number {
  const intervalMs = timing.intervalSeconds * 1_000;
  const every =
    state.status === 'starting' && inGrace(state, timing, nowMs) ? Math.min(intervalMs, START_INTERVAL_MS) : intervalMs;
  return Math.max(0, probeStartedMs + every - nowMs);
}
