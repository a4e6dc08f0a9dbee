import type { AlertView, EmailDeliveryView } from '@agentpod/contracts';
import { defineCommand } from '../args.ts';
import { EXIT, formatFields, formatTable, formatTime } from '../output.ts';

/* `agentpod alerts list|ack|silence|emails`: alerts, acknowledging and silencing them, and their email log. */

const LABELS = { alert: '<id>', for: '--for', limit: '--limit', tenant: '--tenant', state: '--state' };

const targetOf = (alert: AlertView): string => {
  const { tenantId, podId, nodeId } = alert.target;
  if (tenantId && podId) return `${tenantId}/${podId}`;
  return nodeId ?? tenantId ?? '-';
};

/** `acked`, `silenced`, both, or `-`: what stops an alert's notifications. */
const quietOf = (alert: AlertView): string => {
  const marks = [
    alert.acknowledgedBy !== null ? 'acked' : '',
    alert.silencedUntil !== null && Date.parse(alert.silencedUntil) > Date.now() ? 'silenced' : '',
  ].filter(Boolean);
  return marks.length > 0 ? marks.join(',') : '-';
};

export function formatAlerts(alerts: readonly AlertView[]): string {
  if (alerts.length === 0) return 'no alerts\n';
  return formatTable(
    ['alert', 'state', 'severity', 'kind', 'target', 'fired', 'resolved', 'quiet', 'summary'],
    alerts.map((a) => [
      a.alertId,
      a.state,
      a.severity,
      a.kind,
      targetOf(a),
      formatTime(a.firedAt),
      formatTime(a.resolvedAt),
      quietOf(a),
      a.summary,
    ]),
  );
}

function formatAlert(alert: AlertView): string {
  return formatFields([
    ['alert', alert.alertId],
    ['state', alert.state],
    ['summary', alert.summary],
    ['acknowledged', alert.acknowledgedBy ? `by ${alert.acknowledgedBy} at ${formatTime(alert.acknowledgedAt)}` : 'no'],
    ['silenced until', formatTime(alert.silencedUntil)],
  ]);
}

export function formatEmails(emails: readonly EmailDeliveryView[]): string {
  if (emails.length === 0) return 'no emails\n';
  const rows = emails.flatMap((e) => {
    const head = [e.deliveryId, e.reminder > 0 ? `${e.type} (reminder ${e.reminder})` : e.type, e.audience, e.status];
    if (e.log.length === 0) return [[...head, '-', formatTime(e.createdAt), 'not attempted yet']];
    return e.log.map((a) => [
      ...head,
      String(a.attempt),
      formatTime(a.at),
      `${a.outcome} to ${a.recipients}${a.error ? `: ${a.error}` : ''}`,
    ]);
  });
  return formatTable(['email', 'type', 'to', 'status', 'attempt', 'at', 'result'], rows);
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

export const alertsAckCommand = defineCommand({
  path: ['alerts', 'ack'],
  summary: 'Acknowledge a firing alert: no more reminders (its resolution is still notified)',
  args: ['id'],
  async run(ctx, { args }) {
    const alert = await (await ctx.client()).call('ackAlert', { params: { alert: args.id } }, { labels: LABELS });
    ctx.out.result(alert, () => formatAlert(alert));
    return EXIT.ok;
  },
});

export const alertsSilenceCommand = defineCommand({
  path: ['alerts', 'silence'],
  summary: 'Silence a firing alert for a while: no notifications (it still shows and resolves)',
  args: ['id'],
  options: {
    for: { type: 'string', value: 'D', description: 'how long: 30m, 2h, 7d (at most 30d)', required: true },
  },
  async run(ctx, { args, options }) {
    const alert = await (await ctx.client()).call(
      'silenceAlert',
      { params: { alert: args.id }, body: { for: options.for } },
      { labels: LABELS },
    );
    ctx.out.result(alert, () => formatAlert(alert));
    return EXIT.ok;
  },
});

export const alertsEmailsCommand = defineCommand({
  path: ['alerts', 'emails'],
  summary: 'The emails about an alert, newest first, with every attempt (sent, retried, failed or skipped)',
  args: ['id'],
  options: { limit: { type: 'string', value: 'N', description: 'at most N emails (1-1000, default 50)' } },
  async run(ctx, { args, options }) {
    const { emails } = await (await ctx.client()).call(
      'listAlertEmails',
      { params: { alert: args.id }, query: { limit: options.limit } },
      { labels: LABELS },
    );
    ctx.out.result({ emails }, () => formatEmails(emails));
    return EXIT.ok;
  },
});

export const alertsCommands = [alertsListCommand, alertsAckCommand, alertsSilenceCommand, alertsEmailsCommand];
