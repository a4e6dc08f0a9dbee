import {
  alertEvents,
  alertRuleEvents,
  deliveryEvents,
  type EnvelopeOf,
  emailEvents,
  webhookEvents,
} from '@agentpod/contracts';
import { eventsOf, type Projection } from '@agentpod/kit';
import { sql, type Transaction } from 'kysely';
import { applyAlertEvent } from '../alert/rows.ts';
import { jsonb, type MonitorDb } from '../db.ts';
import { applyEmailAttempt } from '../notify/attempt-rows.ts';
import { insertDelivery, notify } from '../notify/outbox.ts';
import { applyRuleEvent } from '../rules/rows.ts';

/*
 * The monitor's read model of MONITOR: alerts, alert rules, webhooks, and the delivery outboxes (webhooks and
 * email) with their attempts. A notified alert event makes one delivery per webhook of its tenant that wants it
 * and one email delivery, in the same transaction as the alert row, so a delivery exists exactly when its alert
 * event does (and a webhook added later never hears of earlier alerts: the stream orders both). Attempts come
 * back as DeliveryAttempted / EmailAttempted events, so a rebuilt read model knows what was delivered and the
 * senders never send it again.
 */

/** Notified (on commit) when a webhook delivery becomes due: the sender wakes instead of waiting for its next poll. */
export const DELIVERIES_CHANNEL = 'agentpod_monitor_deliveries';
/** The same for the email sender. */
export const EMAILS_CHANNEL = 'agentpod_monitor_emails';

const schemas = { ...alertEvents, ...webhookEvents, ...deliveryEvents, ...alertRuleEvents, ...emailEvents };
type MonitorEvent = EnvelopeOf<typeof schemas>;

type Tx = Transaction<MonitorDb>;
type Due = { webhooks: boolean; emails: boolean };
const NOTHING: Due = { webhooks: false, emails: false };

/** Applies one event; says which outbox got due work. */
async function applyEvent(tx: Tx, event: MonitorEvent): Promise<Due> {
  switch (event.type) {
    case 'AlertFired':
    case 'AlertResolved':
    case 'AlertRenotified':
    case 'AlertAcknowledged':
    case 'AlertSilenced': {
      const notification = await applyAlertEvent(tx, event);
      return notification ? notify(tx, notification) : NOTHING;
    }
    case 'AlertRuleAdded':
    case 'AlertRuleRemoved':
    case 'AlertRuleSilenced':
      await applyRuleEvent(tx, event);
      return NOTHING;
    case 'EmailAttempted':
      return { webhooks: false, emails: await applyEmailAttempt(tx, event) };
    case 'WebhookAdded': {
      const { data } = event;
      await tx
        .insertInto('webhooks')
        .values({
          webhook_id: data.webhookId,
          tenant_id: data.tenantId,
          url: jsonb(data.url),
          url_origin: data.urlOrigin,
          events: jsonb(data.events),
          secret: jsonb(data.secret),
          created_at: event.occurredAt,
        })
        .onConflict((c) => c.column('webhook_id').doNothing())
        .execute();
      return NOTHING;
    }
    case 'WebhookRemoved': {
      const { webhookId } = event.data;
      await tx
        .deleteFrom('delivery_attempts')
        .where('delivery_id', 'in', (q) =>
          q.selectFrom('deliveries').select('delivery_id').where('webhook_id', '=', webhookId),
        )
        .execute();
      await tx.deleteFrom('deliveries').where('webhook_id', '=', webhookId).execute();
      await tx.deleteFrom('webhooks').where('webhook_id', '=', webhookId).execute();
      return NOTHING;
    }
    case 'WebhookTestRequested': {
      const { data } = event;
      const exists = await tx
        .selectFrom('webhooks')
        .select('webhook_id')
        .where('webhook_id', '=', data.webhookId)
        .executeTakeFirst();
      if (!exists) return NOTHING;
      await insertDelivery(tx, {
        deliveryId: data.deliveryId,
        webhookId: data.webhookId,
        tenantId: data.tenantId,
        type: 'ping',
        alert: null,
        rule: null,
        reminder: 0,
        at: event.occurredAt,
      });
      return { webhooks: true, emails: false };
    }
    case 'DeliveryAttempted': {
      const { data } = event;
      // A delivery whose webhook was removed meanwhile is gone, and so is its log.
      const updated = await tx
        .updateTable('deliveries')
        .set({
          attempts: data.attempt,
          status: data.outcome === 'retrying' ? 'pending' : data.outcome,
          next_attempt_at: data.nextAttemptAt,
          updated_at: event.occurredAt,
        })
        .where('delivery_id', '=', data.deliveryId)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) return NOTHING;
      await tx
        .insertInto('delivery_attempts')
        .values({
          delivery_id: data.deliveryId,
          attempt: data.attempt,
          at: data.at,
          status_code: data.statusCode,
          error: data.error,
          duration_ms: data.durationMs,
          outcome: data.outcome,
        })
        .onConflict((c) => c.columns(['delivery_id', 'attempt']).doNothing())
        .execute();
      return { webhooks: data.outcome === 'retrying', emails: false };
    }
    default: {
      const unknown: never = event;
      throw new Error(`unhandled monitor event ${(unknown as { type: string }).type}`);
    }
  }
}

export const monitorProjection: Projection<MonitorDb> = {
  name: 'monitor',
  context: 'monitor',
  async apply(tx, stored) {
    const due = { webhooks: false, emails: false };
    for (const event of eventsOf(schemas, stored)) {
      const applied = await applyEvent(tx, event);
      due.webhooks ||= applied.webhooks;
      due.emails ||= applied.emails;
    }
    if (due.webhooks) await sql`select pg_notify(${DELIVERIES_CHANNEL}, '')`.execute(tx);
    if (due.emails) await sql`select pg_notify(${EMAILS_CHANNEL}, '')`.execute(tx);
  },
};
