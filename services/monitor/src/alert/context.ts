import type { AlertTarget } from '@agentpod/contracts';
import { type Kysely, sql } from 'kysely';
import type { MonitorDb } from '../db.ts';
import type { NoticeContext } from './notice.ts';

/*
 * What deciding a notification needs from the read model: silences of the rule in force, and how many
 * notifications the alert's tenant has had in the last hour. The read model may lag the log by a moment, so the
 * cap is approximate by the few notifications in flight; it bounds storms, not single messages.
 */

const HOUR_MS = 3_600_000;

/** A target's key in series ids and silences: `<tenant>_<pod>` or `node_<node>`. */
export function targetKey(target: AlertTarget): string {
  if (target.tenantId !== null && target.podId !== null) return `${target.tenantId}_${target.podId}`;
  return `node_${target.nodeId ?? '-'}`;
}

/** What a tenant's cap counts by: the tenant, or `-` for platform alerts. */
export const tenantKey = (tenantId: string | null): string => tenantId ?? '-';

/** The latest end of a silence in force of the rule, for everything or for `target`. */
export async function ruleSilencedUntil(
  db: Kysely<MonitorDb>,
  ruleId: string,
  target: AlertTarget,
  now: Date,
): Promise<string | null> {
  const row = await db
    .selectFrom('rule_silences')
    .select((eb) => eb.fn.max('until').as('until'))
    .where('rule_id', '=', ruleId)
    .where('target_key', 'in', ['*', targetKey(target)])
    .where('until', '>', now)
    .executeTakeFirst();
  const until = row?.until as Date | string | null | undefined;
  return until ? new Date(until).toISOString() : null;
}

/** Notifications a tenant (or the platform, `-`) may still get in the hour up to `now`. */
export async function budgetLeft(db: Kysely<MonitorDb>, key: string, now: Date, cap: number): Promise<number> {
  const row = await db
    .selectFrom('alert_notices')
    .select(sql<string>`count(*)`.as('count'))
    .where('tenant_key', '=', key)
    .where('at', '>', new Date(now.getTime() - HOUR_MS))
    .executeTakeFirst();
  return cap - Number(row?.count ?? 0);
}

/** The context of one notification decision about `target` of `ruleId`'s alert. */
export async function noticeContext(
  db: Kysely<MonitorDb>,
  input: { ruleId: string; target: AlertTarget; tenantId: string | null; now: Date; cap: number },
): Promise<NoticeContext> {
  const [silenced, budget] = await Promise.all([
    ruleSilencedUntil(db, input.ruleId, input.target, input.now),
    budgetLeft(db, tenantKey(input.tenantId), input.now, input.cap),
  ]);
  return { now: input.now, ruleSilencedUntil: silenced, budget };
}
