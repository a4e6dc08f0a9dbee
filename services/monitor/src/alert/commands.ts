import {
  AlertRuleCommands,
  AlertRuleQueries,
  type AlertRuleResult,
  AppError,
  commandSubject,
  durationMs,
  querySubject,
  type RequestMeta,
} from '@agentpod/contracts';
import { executeCommand, handler } from '@agentpod/kit';
import type { z } from 'zod';
import { readableTenants, requireTenant } from '../access.ts';
import type { MonitorDeps } from '../deps.ts';
import { listAlertEmails } from '../notify/queries.ts';
import { alertView } from '../read-model/views.ts';
import { actorName, requirePlatformAdmin } from '../rules/handlers.ts';
import { type AlertEvent, type AlertSeries, decideAcknowledge, decideSilence } from './series.ts';

/*
 * `monitor.cmd.{ackAlert,silenceAlert}` and `monitor.qry.listAlertEmails`. A tenant's alert: members and above act
 * on it, viewers read it; a platform alert (no tenant): platform admins. Without access to the alert's tenant it
 * does not exist (not_found).
 */

async function findAlert(deps: MonitorDeps, alertId: string) {
  const row = await deps.runtime.db.selectFrom('alerts').selectAll().where('alert_id', '=', alertId).executeTakeFirst();
  if (!row) throw new AppError('not_found', `no alert ${alertId}`);
  return row;
}

/** Checks the caller may read (or act on) the alert; someone without access to its tenant gets not_found. */
async function authorise(
  deps: MonitorDeps,
  meta: RequestMeta,
  alert: { alert_id: string; tenant_id: string | null },
  act: boolean,
  action: string,
): Promise<void> {
  if (alert.tenant_id !== null) {
    try {
      await requireTenant(deps.runtime, meta, alert.tenant_id, act ? 'member' : 'viewer', action);
    } catch (error) {
      if (error instanceof AppError && error.code === 'not_found') {
        throw new AppError('not_found', `no alert ${alert.alert_id}`);
      }
      throw error;
    }
    return;
  }
  const readable = await readableTenants(deps.runtime, meta);
  if (readable !== 'all') throw new AppError('not_found', `no alert ${alert.alert_id}`);
  if (act) requirePlatformAdmin(meta, action);
}

export function registerAlertCommands(deps: MonitorDeps): void {
  const { runtime } = deps;
  const serve = <I, O>(subject: string, input: z.ZodType<I>, handle: (i: I, m: RequestMeta) => Promise<O>) =>
    runtime.serve(subject, handler(input, handle));

  const change = async (
    alertId: string,
    meta: RequestMeta,
    action: string,
    decide: (state: AlertSeries, now: Date) => AlertEvent[] | AppError,
  ) => {
    const alert = await findAlert(deps, alertId);
    await authorise(deps, meta, alert, true, action);
    const outcome = await executeCommand({
      store: runtime.store,
      repository: deps.repos.series,
      aggregateId: alert.series,
      meta,
      decide,
      clock: runtime.clock,
    });
    const seq = Math.max(0, ...outcome.events.map((event) => event.seq));
    if (seq > 0) await runtime.caughtUp('monitor', seq);
    return alertView(await findAlert(deps, alertId));
  };

  serve(
    commandSubject('monitor', 'ackAlert'),
    AlertRuleCommands.ackAlert,
    async ({ alertId }, meta): Promise<AlertRuleResult<'ackAlert'>> => {
      const by = actorName(meta);
      return change(alertId, meta, 'acknowledging an alert', (state) => decideAcknowledge(state, alertId, by));
    },
  );

  serve(
    commandSubject('monitor', 'silenceAlert'),
    AlertRuleCommands.silenceAlert,
    async ({ alertId, for: period }, meta): Promise<AlertRuleResult<'silenceAlert'>> => {
      const by = actorName(meta);
      return change(alertId, meta, 'silencing an alert', (state, now) =>
        decideSilence(state, alertId, new Date(now.getTime() + durationMs(period)).toISOString(), by),
      );
    },
  );

  serve(
    querySubject('monitor', 'listAlertEmails'),
    AlertRuleQueries.listAlertEmails,
    async ({ alertId, limit }, meta): Promise<AlertRuleResult<'listAlertEmails'>> => {
      const alert = await findAlert(deps, alertId);
      await authorise(deps, meta, alert, false, 'reading the emails of an alert');
      return { emails: await listAlertEmails(runtime.db, alertId, limit) };
    },
  );
}
