import {
  type AlertView,
  alertEvents,
  type DeliveryType,
  deliveryEvents,
  type EnvelopeOf,
  type WebhookEventType,
  type WebhookPayload,
  webhookEvents,
} from '@agentpod/contracts';
import { eventsOf, type Projection } from '@agentpod/kit';
import { sql, type Transaction } from 'kysely';
import { jsonb, type MonitorDb } from '../db.ts';
import { deliveryIdFor } from '../ids.ts';
import { alertView } from './views.ts';

/*
 * The monitor's read model of MONITOR: alerts, webhooks, and the delivery outbox with its attempts. An alert event
 * makes one delivery per webhook of its tenant that wants it, in the same transaction as the alert row, so a
 * delivery exists exactly when its alert does (and a webhook added later never hears of earlier alerts: the stream
 * orders both). Attempts come back as DeliveryAttempted events, so a rebuilt read model knows what was delivered
 * and the sender never sends it again.
 */

/** Notified (on commit) when a delivery becomes due: the sender wakes instead of waiting for its next poll. */
export const DELIVERIES_CHANNEL = 'agentpod_monitor_deliveries';

const schemas = { ...alertEvents, ...webhookEvents, ...deliveryEvents };
type MonitorEvent = EnvelopeOf<typeof schemas>;

type Tx = Transaction<MonitorDb>;

async function insertDelivery(
  tx: Tx,
  input: {
    deliveryId: string;
    webhookId: string;
    tenantId: string;
    type: DeliveryType;
    alert: AlertView | null;
    at: string;
  },
): Promise<void> {
  const payload: WebhookPayload = {
    id: input.deliveryId,
    type: input.type,
    createdAt: input.at,
    tenantId: input.tenantId,
    alert: input.alert,
  };
  await tx
    .insertInto('deliveries')
    .values({
      delivery_id: input.deliveryId,
      webhook_id: input.webhookId,
      tenant_id: input.tenantId,
      type: input.type,
      alert_id: input.alert?.alertId ?? null,
      payload: jsonb(payload),
      status: 'pending',
      attempts: 0,
      next_attempt_at: input.at,
      created_at: input.at,
      updated_at: input.at,
    })
    .onConflict((c) => c.column('delivery_id').doNothing())
    .execute();
}

/** One delivery of `event` to every webhook of the alert's tenant subscribed to `type`. */
async function fanOut(tx: Tx, event: MonitorEvent, type: WebhookEventType, alert: AlertView): Promise<boolean> {
  if (alert.tenantId === null) return false;
  const webhooks = await tx
    .selectFrom('webhooks')
    .select('webhook_id')
    .where('tenant_id', '=', alert.tenantId)
    .where(sql<boolean>`events @> ${jsonb([type])}`)
    .orderBy('webhook_id')
    .execute();
  for (const { webhook_id: webhookId } of webhooks) {
    await insertDelivery(tx, {
      deliveryId: deliveryIdFor(event.id, webhookId),
      webhookId,
      tenantId: alert.tenantId,
      type,
      alert,
      at: event.occurredAt,
    });
  }
  return webhooks.length > 0;
}

async function alertRow(tx: Tx, alertId: string): Promise<AlertView | undefined> {
  const row = await tx.selectFrom('alerts').selectAll().where('alert_id', '=', alertId).executeTakeFirst();
  return row ? alertView(row) : undefined;
}

/** Applies one event; true when a delivery became due. */
async function applyEvent(tx: Tx, event: MonitorEvent): Promise<boolean> {
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
          fired_at: event.occurredAt,
          resolved_at: null,
        })
        .onConflict((c) => c.column('alert_id').doNothing())
        .execute();
      const alert = await alertRow(tx, data.alertId);
      return alert ? fanOut(tx, event, 'alert.fired', alert) : false;
    }
    case 'AlertResolved': {
      await tx
        .updateTable('alerts')
        .set({ state: 'resolved', resolved_at: event.occurredAt })
        .where('alert_id', '=', event.data.alertId)
        .execute();
      const alert = await alertRow(tx, event.data.alertId);
      return alert ? fanOut(tx, event, 'alert.resolved', alert) : false;
    }
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
      return false;
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
      return false;
    }
    case 'WebhookTestRequested': {
      const { data } = event;
      const exists = await tx
        .selectFrom('webhooks')
        .select('webhook_id')
        .where('webhook_id', '=', data.webhookId)
        .executeTakeFirst();
      if (!exists) return false;
      await insertDelivery(tx, {
        deliveryId: data.deliveryId,
        webhookId: data.webhookId,
        tenantId: data.tenantId,
        type: 'ping',
        alert: null,
        at: event.occurredAt,
      });
      return true;
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
      if (Number(updated.numUpdatedRows) === 0) return false;
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
      return data.outcome === 'retrying';
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
    let due = false;
    for (const event of eventsOf(schemas, stored)) {
      if (await applyEvent(tx, event)) due = true;
    }
    if (due) await sql`select pg_notify(${DELIVERIES_CHANNEL}, '')`.execute(tx);
  },
};
