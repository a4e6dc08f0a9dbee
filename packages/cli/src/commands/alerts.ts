import type { AlertView } from '@agentpod/contracts';
import { defineCommand } from '../args.ts';
import { EXIT, formatTable, formatTime } from '../output.ts';

/* `agentpod alerts list`: alerts (issue 8 adds ack and silence). */

const targetOf = (alert: AlertView): string => {
  const { tenantId, podId, nodeId } = alert.target;
  if (tenantId && podId) return `${tenantId}/${podId}`;
  return nodeId ?? tenantId ?? '-';
};

export function formatAlerts(alerts: readonly AlertView[]): string {
  if (alerts.length === 0) return 'no alerts\n';
  return formatTable(
    ['alert', 'state', 'severity', 'kind', 'target', 'fired', 'resolved', 'summary'],
    alerts.map((a) => [
      a.alertId,
      a.state,
      a.severity,
      a.kind,
      targetOf(a),
      formatTime(a.firedAt),
      formatTime(a.resolvedAt),
      a.summary,
    ]),
  );
}

export const alertsListCommand = defineCommand({
  path: ['alerts', 'list'],
  summary: 'Alerts, newest first: of your tenants (every alert for a platform admin), or of one',
  options: {
    tenant: { type: 'string', value: 'T', description: 'only this tenant' },
    state: { type: 'string', value: 'S', description: 'only firing or only resolved alerts' },
    limit: { type: 'string', value: 'N', description: 'at most N alerts (1-1000, default 100)' },
  },
  async run(ctx, { options }) {
    const { alerts } = await (await ctx.client()).call(
      'listAlerts',
      { query: { tenant: options.tenant, state: options.state, limit: options.limit } },
      { labels: { tenant: '--tenant', state: '--state', limit: '--limit' } },
    );
    ctx.out.result({ alerts }, () => formatAlerts(alerts));
    return EXIT.ok;
  },
});

export const alertsCommands = [alertsListCommand];
