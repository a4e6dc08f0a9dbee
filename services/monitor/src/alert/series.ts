import {
  type AlertSource,
  alertEvents,
  type EventOf,
  podRef,
  reconcilerEvents,
  type TypedEnvelope,
} from '@agentpod/contracts';
import type { AggregateDefinition } from '@agentpod/kit';
import type { z } from 'zod';
import { alertIdFor } from '../ids.ts';

/*
 * An alert series: the alerts of one kind about one target (`alert_pod-failing_<tenant>_<pod>`), in the MONITOR
 * stream. At most one of them fires at a time, so a cause that repeats while its alert fires is not a second alert.
 * The series remembers the last source event it acted on: an event at or before it (a redelivery, the alerter
 * reading its stream again from the start after a replay) changes nothing.
 */

type Fired = z.infer<typeof alertEvents.AlertFired>;

export type AlertSeries = { firing: Fired | null; lastSourceSeq: number };

export const alertSeries: AggregateDefinition<AlertSeries, typeof alertEvents> = {
  context: 'monitor',
  events: alertEvents,
  initialState: { firing: null, lastSourceSeq: 0 },
  evolve(state, event) {
    const lastSourceSeq = Math.max(state.lastSourceSeq, event.data.source.seq);
    switch (event.type) {
      case 'AlertFired':
        return { firing: event.data, lastSourceSeq };
      case 'AlertResolved':
        return { firing: null, lastSourceSeq };
      default: {
        const unknown: never = event;
        throw new Error(`unhandled alert event ${(unknown as { type: string }).type}`);
      }
    }
  },
};

/** The reconciler events that start and end a `pod-failing` alert. */
export const alertCauses = {
  PodFailing: reconcilerEvents.PodFailing,
  PodRecovered: reconcilerEvents.PodRecovered,
};
export type AlertCause = {
  [K in keyof typeof alertCauses]: TypedEnvelope<K, z.infer<(typeof alertCauses)[K]>>;
}[keyof typeof alertCauses];

export type AlertEvent = EventOf<typeof alertEvents>;

/**
 * What a reconciler event does to its pod's `pod-failing` series, pure: PodFailing fires an alert unless one fires
 * already; PodRecovered resolves the firing one; an event the series has already seen (by stream sequence) does
 * nothing.
 */
export function decideAlert(cause: AlertCause, seq: number, state: AlertSeries): AlertEvent[] {
  if (seq <= state.lastSourceSeq) return [];
  const { tenantId, podId, nodeId } = cause.data;
  const source: AlertSource = { context: 'reconciler', eventId: cause.id, seq };
  const target = { tenantId, podId, nodeId };
  const pod = podRef(tenantId, podId);
  switch (cause.type) {
    case 'PodFailing': {
      if (state.firing) return [];
      const { reason, failures, exitCode, lastError, generation, summary } = cause.data;
      return [
        {
          type: 'AlertFired',
          tenantId,
          data: {
            alertId: alertIdFor(cause.id),
            tenantId,
            kind: 'pod-failing',
            severity: 'critical',
            target,
            summary: `${pod} is failing: ${summary}`.slice(0, 1_024),
            details: { reason, failures, exitCode, lastError, generation },
            source,
          },
        },
      ];
    }
    case 'PodRecovered': {
      const firing = state.firing;
      if (!firing) return [];
      return [
        {
          type: 'AlertResolved',
          tenantId,
          data: {
            alertId: firing.alertId,
            tenantId,
            kind: firing.kind,
            target: { ...firing.target, nodeId },
            summary: `${pod} recovered`,
            source,
          },
        },
      ];
    }
    default: {
      const unknown: never = cause;
      throw new Error(`unhandled alert cause ${(unknown as { type: string }).type}`);
    }
  }
}
