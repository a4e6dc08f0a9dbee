import { aiEvents } from '@agentpod/contracts';
import type { AggregateDefinition } from '@agentpod/kit';

/*
 * A pod's automatic diagnoses (`ai.evt.diag_<tenant>_<pod>`). The series remembers the RECONCILER sequence of the
 * last PodFailing it acted on and when it last diagnosed, so a redelivered event, or the stream read again from
 * the start, diagnoses nothing twice; and a pod that flaps between failing and recovered costs one diagnosis per
 * quiet period, not one per flap. Pure.
 */

export const diagnosisEvents = { DiagnosisAttached: aiEvents.DiagnosisAttached };

export type DiagnosisSeries = { lastSourceSeq: number; lastDiagnosedAt: string | null };

export const diagnosisAggregate: AggregateDefinition<DiagnosisSeries, typeof diagnosisEvents> = {
  context: 'ai',
  events: diagnosisEvents,
  initialState: { lastSourceSeq: 0, lastDiagnosedAt: null },
  evolve(state, event) {
    return { lastSourceSeq: Math.max(state.lastSourceSeq, event.data.sourceSeq), lastDiagnosedAt: event.occurredAt };
  },
};

/** A PodFailing older than this when read (the service was down, or reads the stream again) is not diagnosed. */
export const MAX_CAUSE_AGE_MS = 15 * 60_000;
/** At most one diagnosis of a pod in this period. */
export const MIN_GAP_MS = 30 * 60_000;

export type Cause = { seq: number; occurredAt: string };

/** Whether a PodFailing at `cause` gets a diagnosis now; the reason when it does not. */
export function shouldDiagnose(
  state: DiagnosisSeries,
  cause: Cause,
  now: Date,
): { yes: true } | { yes: false; why: string } {
  if (cause.seq <= state.lastSourceSeq) return { yes: false, why: 'already diagnosed' };
  if (now.getTime() - Date.parse(cause.occurredAt) > MAX_CAUSE_AGE_MS) return { yes: false, why: 'too old' };
  if (state.lastDiagnosedAt && now.getTime() - Date.parse(state.lastDiagnosedAt) < MIN_GAP_MS) {
    return { yes: false, why: 'diagnosed recently' };
  }
  return { yes: true };
}
