import { durationMs } from '@agentpod/contracts';
import { MailEnv } from '@agentpod/kit';
import { z } from 'zod';

/*
 * The alert rules' and notifications' settings (part of MonitorEnv). Mail: AGENTPOD_SMTP_URL (unset: local mode,
 * emails are logged as skipped), AGENTPOD_MAIL_FROM, AGENTPOD_PUBLIC_URL (the console link in each email).
 */

const Every = z
  .string()
  .regex(/^[1-9][0-9]{0,5}[smhd]$/, 'must be a number followed by s, m, h or d (e.g. 1h)')
  .transform((value) => (value.endsWith('s') ? Number(value.slice(0, -1)) * 1_000 : durationMs(value)));

export const AlertEnv = MailEnv.extend({
  /** How often the monitor's leader evaluates the alert rules (and sends due reminders). */
  AGENTPOD_ALERT_EVAL_SECONDS: z.coerce.number().int().min(1).max(3_600).default(15),
  /** A firing alert nobody acknowledged is notified again this long after its last notification. */
  AGENTPOD_ALERT_RENOTIFY: Every.default(3_600_000),
  /** Notifications (fired, reminders, resolved) per tenant per rolling hour; beyond it they are recorded, not sent. */
  AGENTPOD_ALERT_TENANT_HOURLY_CAP: z.coerce.number().int().min(1).max(10_000).default(30),
});
export type AlertEnv = z.infer<typeof AlertEnv>;
