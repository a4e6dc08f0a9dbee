import type { Encrypted } from '@agentpod/contracts';
import type { TenantMembershipTables } from '@agentpod/kit';
import { type ColumnType, type RawBuilder, sql } from 'kysely';
import type { AlertRuleTables } from './alert/tables.ts';
import type { MetricsTables } from './metrics/schema.ts';

/** A timestamptz column: read as a Date, written as an ISO string (an event's time, so a replay writes the same). */
type Timestamp = ColumnType<Date, string, string>;
/** A jsonb column: read as the parsed value, written through `jsonb()`. */
type Json<T> = ColumnType<T, RawBuilder<unknown>, RawBuilder<unknown>>;

/** A value for a jsonb column: sent as text and cast, so the driver does not encode the JSON a second time. */
export const jsonb = (value: unknown): RawBuilder<unknown> =>
  sql<unknown>`(${JSON.stringify(value ?? null)}::text)::jsonb`;

/*
 * The `monitor` schema (kysely types). Every table is a read model rebuilt from the log (MONITOR, and TENANTS for
 * the memberships), deterministic and comparable with EXCEPT (jsonb, not json). Webhook URLs and secrets are kept
 * as they are in the log: encrypted.
 */

export type AlertsTable = {
  alert_id: string;
  /** The alert series (aggregate) it belongs to. */
  series: string;
  tenant_id: string | null;
  kind: string;
  severity: string;
  state: 'firing' | 'resolved';
  target: Json<unknown>;
  summary: string;
  details: Json<unknown>;
  fired_at: Timestamp;
  resolved_at: Timestamp | null;
  /** The rule that fired it (migration 0003; earlier alerts are the built-in pod-failing rule's). */
  rule_id: ColumnType<string, string | undefined, string>;
  acknowledged_by: string | null;
  acknowledged_at: Timestamp | null;
  silenced_until: Timestamp | null;
  notifications: ColumnType<number, number | undefined, number>;
  last_notified_at: Timestamp | null;
};

export type WebhooksTable = {
  webhook_id: string;
  tenant_id: string;
  url: Json<Encrypted>;
  url_origin: string;
  events: Json<string[]>;
  secret: Json<Encrypted>;
  created_at: Timestamp;
};

/** The outbox: one row per webhook per event it must hear of, written with the alert in one transaction. */
export type DeliveriesTable = {
  delivery_id: string;
  webhook_id: string;
  tenant_id: string;
  type: string;
  alert_id: string | null;
  /** The body to send (a WebhookPayload), fixed when the delivery is made so every retry sends the same. */
  payload: Json<unknown>;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
};

export type DeliveryAttemptsTable = {
  delivery_id: string;
  attempt: number;
  at: Timestamp;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  outcome: string;
};

/** The metrics tables (metrics/schema.ts) are not read models: a replay keeps them as they are. */
export type MonitorDb = TenantMembershipTables &
  MetricsTables &
  AlertRuleTables & {
    alerts: AlertsTable;
    webhooks: WebhooksTable;
    deliveries: DeliveriesTable;
    delivery_attempts: DeliveryAttemptsTable;
  };
