import {
  type AlertDetails,
  type AlertTarget,
  AlertView,
  type DeliveryAttemptView,
  DeliveryView,
} from '@agentpod/contracts';
import type { Selectable } from 'kysely';
import type { AlertsTable, DeliveriesTable, DeliveryAttemptsTable } from '../db.ts';

/* Rows of the read model as the API shows them. */

const iso = (value: Date | null): string | null => (value ? value.toISOString() : null);

export function alertView(row: Selectable<AlertsTable>): AlertView {
  return AlertView.parse({
    alertId: row.alert_id,
    tenantId: row.tenant_id,
    kind: row.kind,
    severity: row.severity,
    state: row.state,
    target: row.target as AlertTarget,
    summary: row.summary,
    details: row.details as AlertDetails,
    firedAt: row.fired_at.toISOString(),
    resolvedAt: iso(row.resolved_at),
    ruleId: row.rule_id,
    acknowledgedBy: row.acknowledged_by,
    acknowledgedAt: iso(row.acknowledged_at),
    silencedUntil: iso(row.silenced_until),
    notifications: row.notifications,
    lastNotifiedAt: iso(row.last_notified_at),
  });
}

export function attemptView(row: Selectable<DeliveryAttemptsTable>): DeliveryAttemptView {
  return {
    attempt: row.attempt,
    at: row.at.toISOString(),
    statusCode: row.status_code,
    error: row.error,
    durationMs: row.duration_ms,
    outcome: row.outcome as DeliveryAttemptView['outcome'],
  };
}

export function deliveryView(
  row: Omit<Selectable<DeliveriesTable>, 'payload'>,
  attempts: readonly Selectable<DeliveryAttemptsTable>[],
): DeliveryView {
  return DeliveryView.parse({
    deliveryId: row.delivery_id,
    webhookId: row.webhook_id,
    tenantId: row.tenant_id,
    type: row.type,
    alertId: row.alert_id,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: iso(row.next_attempt_at),
    createdAt: row.created_at.toISOString(),
    log: attempts.map(attemptView),
  });
}
