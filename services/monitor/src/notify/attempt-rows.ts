import type { EnvelopeOf, emailEvents } from '@agentpod/contracts';
import type { Transaction } from 'kysely';
import type { MonitorDb } from '../db.ts';

/** An email attempt: the delivery's status and its log. True when another attempt is due (the sender is woken). */
export async function applyEmailAttempt(
  tx: Transaction<MonitorDb>,
  event: EnvelopeOf<typeof emailEvents>,
): Promise<boolean> {
  const { data } = event;
  await tx
    .updateTable('email_deliveries')
    .set({
      attempts: data.attempt,
      status: data.outcome === 'retrying' ? 'pending' : data.outcome,
      next_attempt_at: data.nextAttemptAt,
      updated_at: event.occurredAt,
    })
    .where('delivery_id', '=', data.deliveryId)
    .execute();
  await tx
    .insertInto('email_attempts')
    .values({
      delivery_id: data.deliveryId,
      attempt: data.attempt,
      at: data.at,
      recipients: data.recipients,
      error: data.error,
      duration_ms: data.durationMs,
      outcome: data.outcome,
    })
    .onConflict((c) => c.columns(['delivery_id', 'attempt']).doNothing())
    .execute();
  return data.outcome === 'retrying';
}
