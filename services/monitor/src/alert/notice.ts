import type { NotifySuppression } from '@agentpod/contracts';

/*
 * Whether an alert event is notified (webhooks, email), pure. Decided when the event is appended and recorded in
 * it, so the read model's fan-out (and a replay of it) follows the log, never the clock.
 *
 * - silenced (the alert, or its rule as a whole or for its target, until a time after now): recorded, not sent;
 * - over the tenant's cap (AGENTPOD_ALERT_TENANT_HOURLY_CAP notifications in the last hour): recorded, not sent;
 * - reminders: a firing alert nobody acknowledged or silenced is notified again AGENTPOD_ALERT_RENOTIFY after its
 *   last notification, or at once when it never was (it fired while silenced or over the cap).
 */

export type Notice = { notify: boolean; suppressed: NotifySuppression | null };

/** What the appender knows when it decides: the time, silences in force, what is left of the tenant's cap. */
export type NoticeContext = {
  now: Date;
  /** The latest end of a silence of the rule (whole, or for this target); null when none. */
  ruleSilencedUntil: string | null;
  /** Notifications the alert's tenant may still get this hour. */
  budget: number;
};

export const NOTIFY: Notice = { notify: true, suppressed: null };

const after = (until: string | null, now: Date): boolean => until !== null && Date.parse(until) > now.getTime();

export function noticeFor(context: NoticeContext, alertSilencedUntil: string | null): Notice {
  if (after(alertSilencedUntil, context.now) || after(context.ruleSilencedUntil, context.now)) {
    return { notify: false, suppressed: 'silenced' };
  }
  if (context.budget <= 0) return { notify: false, suppressed: 'rate-limited' };
  return NOTIFY;
}

/** What a firing alert's reminders depend on. */
export type ReminderState = {
  acknowledgedBy: string | null;
  silencedUntil: string | null;
  lastNotifiedAt: string | null;
};

/** True when a firing alert is due another notification now (it still has to fit the cap: see noticeFor). */
export function reminderDue(
  alert: ReminderState,
  context: Pick<NoticeContext, 'now' | 'ruleSilencedUntil'>,
  renotifyMs: number,
): boolean {
  if (alert.acknowledgedBy !== null) return false;
  if (after(alert.silencedUntil, context.now) || after(context.ruleSilencedUntil, context.now)) return false;
  if (alert.lastNotifiedAt === null) return true;
  return context.now.getTime() - Date.parse(alert.lastNotifiedAt) >= renotifyMs;
}
