import {
  type AlertRuleDefinition,
  type AlertRuleSummary,
  type AlertView,
  BUILTIN_POD_FAILING,
  BUILTIN_POD_FAILING_RULE,
  type DeliveryType,
  type EmailAudience,
  type WebhookEventType,
  type WebhookPayload,
} from '@agentpod/contracts';
import { sql, type Transaction } from 'kysely';
import { tenantKey } from '../alert/context.ts';
import { jsonb, type MonitorDb } from '../db.ts';
import { deliveryIdFor } from '../ids.ts';
import { emailDeliveryIdFor } from './ids.ts';

/*
 * The outbox side of the read model: when an alert event is notified (its `notify` flag, decided when it was
 * appended), one webhook delivery per subscribed webhook of the alert's tenant, one email delivery, and one notice
 * (what the tenant's hourly cap counts) are written in the projection's transaction. Everything here comes from
 * the MONITOR stream alone (the alert row, the rule row), so a replay writes the same rows.
 */

type Tx = Transaction<MonitorDb>;

/** What one notification tells: which alert event, about which alert (as it is now), from which rule. */
export type Notification = {
  /** The id of the alert event: deliveries are derived from it. */
  eventId: string;
  at: string;
  type: WebhookEventType;
  reminder: number;
  alert: AlertView;
};

export async function insertDelivery(
  tx: Tx,
  input: {
    deliveryId: string;
    webhookId: string;
    tenantId: string;
    type: DeliveryType;
    alert: AlertView | null;
    rule: AlertRuleSummary | null;
    reminder: number;
    at: string;
  },
): Promise<void> {
  const payload: WebhookPayload = {
    id: input.deliveryId,
    type: input.type,
    createdAt: input.at,
    tenantId: input.tenantId,
    alert: input.alert,
    rule: input.rule,
    reminder: input.reminder,
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

/** The rule as the read model has it (a removed rule too), or the built-in one. */
async function ruleOf(tx: Tx, ruleId: string): Promise<AlertRuleDefinition | undefined> {
  if (ruleId === BUILTIN_POD_FAILING_RULE) return BUILTIN_POD_FAILING;
  const row = await tx.selectFrom('alert_rules').select('definition').where('rule_id', '=', ruleId).executeTakeFirst();
  return row?.definition as AlertRuleDefinition | undefined;
}

export const ruleSummary = (rule: AlertRuleDefinition): AlertRuleSummary => ({
  ruleId: rule.ruleId,
  name: rule.name,
  kind: rule.kind,
  scope: rule.tenantId === null ? 'platform' : 'tenant',
  threshold: rule.threshold,
  for: rule.for,
  builtIn: rule.ruleId === BUILTIN_POD_FAILING_RULE,
});

/**
 * Who is emailed: the rule's own addresses if it has any; else the tenant's owners and admins for a tenant rule
 * (and for the built-in rule, whose alerts are about a tenant's pod), the platform admins for a platform rule.
 */
export function audienceOf(rule: AlertRuleDefinition | undefined, alert: AlertView): EmailAudience {
  if (rule && rule.emails.length > 0) return 'rule';
  const forTenant = rule?.tenantId !== null || rule.ruleId === BUILTIN_POD_FAILING_RULE;
  return forTenant && alert.tenantId !== null ? 'tenant-admins' : 'platform-admins';
}

/** Writes the deliveries and the notice of one notification; says which outboxes got work. */
export async function notify(tx: Tx, notification: Notification): Promise<{ webhooks: boolean; emails: boolean }> {
  const { alert, eventId, at, type, reminder } = notification;
  const rule = await ruleOf(tx, alert.ruleId);
  const summary = rule ? ruleSummary(rule) : null;
  await tx
    .insertInto('alert_notices')
    .values({ event_id: eventId, alert_id: alert.alertId, tenant_key: tenantKey(alert.tenantId), at })
    .onConflict((c) => c.column('event_id').doNothing())
    .execute();

  let webhooks = false;
  if (alert.tenantId !== null) {
    const subscribed = await tx
      .selectFrom('webhooks')
      .select('webhook_id')
      .where('tenant_id', '=', alert.tenantId)
      .where(sql<boolean>`events @> ${jsonb([type])}`)
      .orderBy('webhook_id')
      .execute();
    for (const { webhook_id: webhookId } of subscribed) {
      await insertDelivery(tx, {
        deliveryId: deliveryIdFor(eventId, webhookId),
        webhookId,
        tenantId: alert.tenantId,
        type,
        alert,
        rule: summary,
        reminder,
        at,
      });
    }
    webhooks = subscribed.length > 0;
  }

  const audience = audienceOf(rule, alert);
  await tx
    .insertInto('email_deliveries')
    .values({
      delivery_id: emailDeliveryIdFor(eventId),
      alert_id: alert.alertId,
      tenant_id: alert.tenantId,
      type,
      reminder,
      audience,
      addresses: jsonb(audience === 'rule' ? (rule?.emails ?? []) : []),
      payload: jsonb({ type, reminder, alert, rule: summary }),
      status: 'pending',
      attempts: 0,
      next_attempt_at: at,
      created_at: at,
      updated_at: at,
    })
    .onConflict((c) => c.column('delivery_id').doNothing())
    .execute();
  return { webhooks, emails: true };
}
