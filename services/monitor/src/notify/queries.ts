import { EmailDeliveryView } from '@agentpod/contracts';
import type { Kysely } from 'kysely';
import type { MonitorDb } from '../db.ts';

const iso = (value: Date | null): string | null => (value ? value.toISOString() : null);

/** The emails about one alert, newest first, each with its attempts. */
export async function listAlertEmails(
  db: Kysely<MonitorDb>,
  alertId: string,
  limit: number,
): Promise<EmailDeliveryView[]> {
  const rows = await db
    .selectFrom('email_deliveries')
    .select([
      'delivery_id',
      'alert_id',
      'type',
      'reminder',
      'audience',
      'status',
      'attempts',
      'next_attempt_at',
      'created_at',
    ])
    .where('alert_id', '=', alertId)
    .orderBy('created_at', 'desc')
    .orderBy('delivery_id', 'desc')
    .limit(limit)
    .execute();
  if (rows.length === 0) return [];
  const attempts = await db
    .selectFrom('email_attempts')
    .selectAll()
    .where(
      'delivery_id',
      'in',
      rows.map((row) => row.delivery_id),
    )
    .orderBy('attempt')
    .execute();
  return rows.map((row) =>
    EmailDeliveryView.parse({
      deliveryId: row.delivery_id,
      alertId: row.alert_id,
      type: row.type,
      reminder: row.reminder,
      audience: row.audience,
      status: row.status,
      attempts: row.attempts,
      nextAttemptAt: iso(row.next_attempt_at),
      createdAt: row.created_at.toISOString(),
      log: attempts
        .filter((attempt) => attempt.delivery_id === row.delivery_id)
        .map((attempt) => ({
          attempt: attempt.attempt,
          at: attempt.at.toISOString(),
          recipients: attempt.recipients,
          error: attempt.error,
          durationMs: attempt.duration_ms,
          outcome: attempt.outcome,
        })),
    }),
  );
}
