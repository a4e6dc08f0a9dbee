import type { ColumnType, RawBuilder } from 'kysely';

/*
 * The tables of alert rules and notifications (migration 0003_alert_rules), as kysely types; MonitorDb (db.ts)
 * includes them. All are read models: rebuilt from MONITOR, IDENTITY (users) and RECONCILER (recoveries).
 */

type Timestamp = ColumnType<Date, string, string>;
type Json<T> = ColumnType<T, RawBuilder<unknown>, RawBuilder<unknown>>;

export type AlertRulesTable = {
  rule_id: string;
  /** null: a platform rule. */
  tenant_id: string | null;
  kind: string;
  /** The AlertRuleDefinition. */
  definition: Json<unknown>;
  created_by: string;
  created_at: Timestamp;
  removed_at: Timestamp | null;
};

export type RuleSilencesTable = {
  rule_id: string;
  /** `*`: the whole rule; else the target key (`<tenant>_<pod>`, `node_<id>`). */
  target_key: string;
  target: Json<unknown> | null;
  until: Timestamp;
};

/** One row per notified alert event: what a tenant's hourly cap counts. */
export type AlertNoticesTable = {
  event_id: string;
  alert_id: string;
  tenant_key: string;
  at: Timestamp;
};

export type EmailDeliveriesTable = {
  delivery_id: string;
  alert_id: string;
  tenant_id: string | null;
  type: string;
  reminder: number;
  audience: string;
  addresses: Json<string[]>;
  payload: Json<unknown>;
  status: 'pending' | 'sent' | 'failed' | 'skipped';
  attempts: number;
  next_attempt_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
};

export type EmailAttemptsTable = {
  delivery_id: string;
  attempt: number;
  at: Timestamp;
  recipients: number;
  error: string | null;
  duration_ms: number;
  outcome: string;
};

/** Users as IDENTITY records them: the addresses alert emails go to. */
export type UsersTable = {
  user_id: string;
  email: string;
  platform_admin: boolean;
  disabled: boolean;
};

/** The reconciler's recoveries (a crash healed, an unhealthy pod restarted): `restarts` rules count them. */
export type PodRecoveriesTable = {
  event_id: string;
  tenant_id: string;
  pod_id: string;
  at: Timestamp;
};

export type AlertRuleTables = {
  alert_rules: AlertRulesTable;
  rule_silences: RuleSilencesTable;
  alert_notices: AlertNoticesTable;
  email_deliveries: EmailDeliveriesTable;
  email_attempts: EmailAttemptsTable;
  users: UsersTable;
  pod_recoveries: PodRecoveriesTable;
};
