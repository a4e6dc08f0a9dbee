import { alertEvents, type EnvelopeOf } from '@agentpod/contracts';
import type { Transaction } from 'kysely';
import { jsonb, type MonitorDb } from '../db.ts';
import type { Notification } from '../notify/outbox.ts';
import { alertView } from '../read-model/views.ts';

/*
 * The `alerts` rows of the read model, from the alert series' events. Answers the notification an event makes
 * (when its `notify` flag says so), with the alert as it is after the event: the projection hands it to the
 * outbox in the same transaction.
 */

type Tx = Transaction<MonitorDb>;
export type AlertEnvelope = EnvelopeOf<typeof alertEvents>;
export const alertEventTypes = new Set(Object.keys(alertEvents));

async function notification(
  tx: Tx,
  event: AlertEnvelope,
  type: Notification['type'],
  reminder: number,
): Promise<Notification | null> {
  const row = await tx.selectFrom('alerts').selectAll().where('alert_id', '=', event.data.alertId).executeTakeFirst();
  if (!row) return null;
  return { eventId: event.id, at: event.occurredAt, type, reminder, alert: alertView(row) };
}

export async function applyAlertEvent(tx: Tx, event: AlertEnvelope): Promise<Notification | null> {
  const at = event.occurredAt;
  switch (event.type) {
    case 'AlertFired': {
      const { data } = event;
      await tx
        .insertInto('alerts')
        .values({
          alert_id: data.alertId,
          series: event.aggregateId,
          tenant_id: data.tenantId,
          kind: data.kind,
          severity: data.severity,
          state: 'firing',
          target: jsonb(data.target),
          summary: data.summary,
          details: jsonb(data.details),
          fired_at: at,
          resolved_at: null,
          rule_id: data.ruleId,
          acknowledged_by: null,
          acknowledged_at: null,
          silenced_until: null,
          notifications: data.notify ? 1 : 0,
          last_notified_at: data.notify ? at : null,
        })
        .onConflict((c) => c.column('alert_id').doNothing())
        .execute();
      return data.notify ? notification(tx, event, 'alert.fired', 0) : null;
    }
    case 'AlertResolved': {
      const { data } = event;
      await tx
        .updateTable('alerts')
        .set((eb) => ({
          state: 'resolved',
          resolved_at: at,
          ...(data.notify ? { notifications: eb('notifications', '+', 1), last_notified_at: at } : {}),
        }))
        .where('alert_id', '=', data.alertId)
        .execute();
      return data.notify ? notification(tx, event, 'alert.resolved', 0) : null;
    }
    case 'AlertRenotified': {
      await tx
        .updateTable('alerts')
        .set((eb) => ({ notifications: eb('notifications', '+', 1), last_notified_at: at }))
        .where('alert_id', '=', event.data.alertId)
        .execute();
      return notification(tx, event, 'alert.fired', event.data.reminder);
    }
    case 'AlertAcknowledged':
      await tx
        .updateTable('alerts')
        .set({ acknowledged_by: event.data.by, acknowledged_at: at })
        .where('alert_id', '=', event.data.alertId)
        .execute();
      return null;
    case 'AlertSilenced':
      await tx
        .updateTable('alerts')
        .set({ silenced_until: event.data.until })
        .where('alert_id', '=', event.data.alertId)
        .execute();
      return null;
    default: {
      const unknown: never = event;
      throw new Error(`unhandled alert event ${(unknown as { type: string }).type}`);
    }
  }
}
