import { type AlertRuleDefinition, durationMs } from '@agentpod/contracts';

/*
 * What a rule says about one target at one evaluation, pure. Three shapes of observation:
 *
 * - level (cpu, memory, disk): the AVERAGE of the samples in the window (now − for, now]. It fires when the
 *   average is above the threshold and the samples cover the window: the oldest is within its first quarter (a
 *   pod that started two minutes ago cannot hold a 5-minute condition). Averaging rather than "every sample"
 *   keeps one low sample (a GC pause, a lull) from resetting a sustained overload, and it resolves as soon as the
 *   average is back at or below the threshold: at once in practice, as fresh low samples pull it down.
 * - count (restarts): restarts within the window; fires at `threshold` or more.
 * - state (pod-down, pod-failing, health-failing, node-unreachable): a condition and since when it holds; fires
 *   once it has held for `for`.
 *
 * "pending" (the condition holds, not yet long enough) neither fires nor resolves. A target with no observation
 * at all (a deleted pod, no samples in the window) is judged "ok" by the caller: its alert resolves.
 */

export type Observation =
  | { kind: 'level'; value: number; oldest: Date; samples: number }
  | { kind: 'count'; value: number }
  | { kind: 'state'; active: boolean; since: Date | null; detail: string };

export type Verdict = { verdict: 'firing' | 'pending' | 'ok'; value: number | null; reason: string };

const round = (value: number): number => Math.round(value * 10) / 10;

export function windowMs(rule: Pick<AlertRuleDefinition, 'for'>): number {
  return rule.for === null ? 0 : durationMs(rule.for);
}

export function judge(rule: AlertRuleDefinition, observation: Observation, now: Date): Verdict {
  const span = windowMs(rule);
  switch (observation.kind) {
    case 'level': {
      const threshold = rule.threshold ?? Number.POSITIVE_INFINITY;
      const value = round(observation.value);
      const text = `${rule.kind} ${value}% (average over ${rule.for}; threshold ${threshold}%)`;
      if (!(observation.value > threshold)) return { verdict: 'ok', value, reason: text };
      const covered = observation.oldest.getTime() <= now.getTime() - span + span / 4;
      return { verdict: covered ? 'firing' : 'pending', value, reason: text };
    }
    case 'count': {
      const threshold = rule.threshold ?? Number.POSITIVE_INFINITY;
      const text = `${observation.value} restarts in ${rule.for} (threshold ${threshold})`;
      return { verdict: observation.value >= threshold ? 'firing' : 'ok', value: observation.value, reason: text };
    }
    case 'state': {
      if (!observation.active) return { verdict: 'ok', value: null, reason: observation.detail };
      const held = observation.since === null ? 0 : now.getTime() - observation.since.getTime();
      const reason = rule.for ? `${observation.detail} for ${rule.for} or longer` : observation.detail;
      return { verdict: held >= span ? 'firing' : 'pending', value: null, reason };
    }
    default: {
      const unknown: never = observation;
      throw new Error(`unhandled observation ${(unknown as { kind: string }).kind}`);
    }
  }
}
