import {
  type AlertSource,
  AppError,
  alertEvents,
  BUILTIN_POD_FAILING_RULE,
  type EventOf,
  podRef,
  reconcilerEvents,
  type TypedEnvelope,
} from '@agentpod/contracts';
import type { AggregateDefinition } from '@agentpod/kit';
import type { z } from 'zod';
import { alertIdFor } from '../ids.ts';
import { NOTIFY, type Notice, type NoticeContext, noticeFor, type ReminderState, reminderDue } from './notice.ts';

/*
 * An alert series: the alerts of one rule about one target (`alert_pod-failing_<tenant>_<pod>` for the built-in
 * rule, `alert_<rule>_<target>` for the others), in the MONITOR stream. At most one of them fires at a time, so a
 * cause that repeats while its alert fires is not a second alert. The series remembers the last source it acted
 * on (a RECONCILER sequence, or an evaluation's time in ms): a source at or before it (a redelivery, the alerter
 * reading its stream again after a replay, an evaluation repeated by a new leader) changes nothing.
 */

type Fired = z.infer<typeof alertEvents.AlertFired>;

/** The firing alert, with what people and reminders did to it since. */
export type FiringAlert = Fired &
  ReminderState & {
    firedAt: string;
    notifications: number;
    reminders: number;
  };

export type AlertSeries = { firing: FiringAlert | null; lastSourceSeq: number };

export type AlertEvent = EventOf<typeof alertEvents>;

export const alertSeries: AggregateDefinition<AlertSeries, typeof alertEvents> = {
  context: 'monitor',
  events: alertEvents,
  initialState: { firing: null, lastSourceSeq: 0 },
  evolve(state, event) {
    const { firing } = state;
    // Events about another alert than the firing one (none should exist) change nothing.
    const mine = firing !== null && firing.alertId === event.data.alertId;
    switch (event.type) {
      case 'AlertFired':
        return {
          firing: {
            ...event.data,
            firedAt: event.occurredAt,
            notifications: event.data.notify ? 1 : 0,
            lastNotifiedAt: event.data.notify ? event.occurredAt : null,
            reminders: 0,
            acknowledgedBy: null,
            silencedUntil: null,
          },
          lastSourceSeq: Math.max(state.lastSourceSeq, event.data.source.seq),
        };
      case 'AlertResolved':
        return { firing: null, lastSourceSeq: Math.max(state.lastSourceSeq, event.data.source.seq) };
      case 'AlertRenotified':
        if (!mine) return state;
        return {
          ...state,
          firing: {
            ...firing,
            notifications: firing.notifications + 1,
            lastNotifiedAt: event.occurredAt,
            reminders: event.data.reminder,
          },
        };
      case 'AlertAcknowledged':
        return mine ? { ...state, firing: { ...firing, acknowledgedBy: event.data.by } } : state;
      case 'AlertSilenced':
        return mine ? { ...state, firing: { ...firing, silencedUntil: event.data.until } } : state;
      default: {
        const unknown: never = event;
        throw new Error(`unhandled alert event ${(unknown as { type: string }).type}`);
      }
    }
  },
};

/** The reconciler events that start and end a `pod-failing` alert of the built-in rule. */
export const alertCauses = {
  PodFailing: reconcilerEvents.PodFailing,
  PodRecovered: reconcilerEvents.PodRecovered,
};
export type AlertCause = {
  [K in keyof typeof alertCauses]: TypedEnvelope<K, z.infer<(typeof alertCauses)[K]>>;
}[keyof typeof alertCauses];

/** A resolution is told only to those who were told of the alert, and only if nothing holds it back now. */
export function resolutionNotice(firing: FiringAlert, notice: Notice): Notice {
  if (firing.notifications === 0) return { notify: false, suppressed: firing.suppressed ?? 'silenced' };
  return notice;
}

/**
 * What a reconciler event does to its pod's built-in `pod-failing` series, pure: PodFailing fires an alert unless
 * one fires already; PodRecovered resolves the firing one; an event the series has already seen (by stream
 * sequence) does nothing. `notice` says whether the change is notified (silences, the tenant's cap).
 */
export function decideAlert(cause: AlertCause, seq: number, state: AlertSeries, notice: Notice = NOTIFY): AlertEvent[] {
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
            ruleId: BUILTIN_POD_FAILING_RULE,
            ...notice,
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
            ruleId: firing.ruleId,
            ...resolutionNotice(firing, notice),
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

const tenantOf = (firing: FiringAlert): { tenantId?: string } => (firing.tenantId ? { tenantId: firing.tenantId } : {});

/** The firing alert `alertId` of this series, or not_found (a resolved alert included, for `conflict`). */
function firingAlert(state: AlertSeries, alertId: string): FiringAlert | AppError {
  if (state.firing?.alertId === alertId) return state.firing;
  return new AppError('conflict', `alert ${alertId} is not firing (it resolved): there is nothing to stop`);
}

/** Acknowledging a firing alert: once (again: nothing more). */
export function decideAcknowledge(state: AlertSeries, alertId: string, by: string): AlertEvent[] | AppError {
  const firing = firingAlert(state, alertId);
  if (firing instanceof AppError) return firing;
  if (firing.acknowledgedBy !== null) return [];
  return [{ type: 'AlertAcknowledged', ...tenantOf(firing), data: { alertId, tenantId: firing.tenantId, by } }];
}

/** Silencing a firing alert until `until` (a later silence replaces an earlier one). */
export function decideSilence(state: AlertSeries, alertId: string, until: string, by: string): AlertEvent[] | AppError {
  const firing = firingAlert(state, alertId);
  if (firing instanceof AppError) return firing;
  return [{ type: 'AlertSilenced', ...tenantOf(firing), data: { alertId, tenantId: firing.tenantId, until, by } }];
}

/** Another notification of the firing alert, when one is due and fits the tenant's cap. */
export function decideReminder(state: AlertSeries, context: NoticeContext, renotifyMs: number): AlertEvent[] {
  const firing = state.firing;
  if (!firing || !reminderDue(firing, context, renotifyMs)) return [];
  if (!noticeFor(context, firing.silencedUntil).notify) return [];
  return [
    {
      type: 'AlertRenotified',
      ...tenantOf(firing),
      data: { alertId: firing.alertId, tenantId: firing.tenantId, reminder: firing.reminders + 1 },
    },
  ];
}
