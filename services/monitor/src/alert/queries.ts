import { MonitorQueries, type MonitorResult, querySubject } from '@agentpod/contracts';
import { handler } from '@agentpod/kit';
import { readableTenants, requireTenant } from '../access.ts';
import type { MonitorDeps } from '../deps.ts';
import { alertView } from '../read-model/views.ts';

/** `monitor.qry.listAlerts`: one tenant's alerts (viewer+), or every alert the caller may see; newest first. */
export function registerAlertQueries(deps: MonitorDeps): void {
  const { runtime } = deps;
  runtime.serve(
    querySubject('monitor', 'listAlerts'),
    handler(
      MonitorQueries.listAlerts,
      async ({ tenantId, state, limit }, meta): Promise<MonitorResult<'listAlerts'>> => {
        let tenants: 'all' | string[];
        if (tenantId !== undefined) {
          await requireTenant(runtime, meta, tenantId, 'viewer', 'reading alerts');
          tenants = [tenantId];
        } else {
          tenants = await readableTenants(runtime, meta);
        }
        if (tenants !== 'all' && tenants.length === 0) return { alerts: [] };
        const rows = await runtime.db
          .selectFrom('alerts')
          .selectAll()
          .$if(tenants !== 'all', (q) => q.where('tenant_id', 'in', tenants === 'all' ? [] : tenants))
          .$if(state !== undefined, (q) => q.where('state', '=', state ?? 'firing'))
          .orderBy('fired_at', 'desc')
          .orderBy('alert_id', 'desc')
          .limit(limit)
          .execute();
        return { alerts: rows.map(alertView) };
      },
    ),
  );
}
