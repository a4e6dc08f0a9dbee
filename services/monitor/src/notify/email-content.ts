import type { AlertRuleSummary, AlertView } from '@agentpod/contracts';

/* What an alert email says, pure: a subject a mail client sorts well, and plain text with the facts and a link. */

export type EmailPayload = {
  type: 'alert.fired' | 'alert.resolved';
  reminder: number;
  alert: AlertView;
  rule: AlertRuleSummary | null;
};

/** One line, no control characters: a subject or a value can never start a header or a new line. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
const CONTROL = /[\u0000-\u001f\u007f]+/g;
const line = (text: string, max = 400): string => text.replace(CONTROL, ' ').slice(0, max);

function targetOf(alert: AlertView): string {
  const { tenantId, podId, nodeId } = alert.target;
  if (tenantId && podId) return `pod ${tenantId}/${podId}${nodeId ? ` on node ${nodeId}` : ''}`;
  return nodeId ? `node ${nodeId}` : '-';
}

export function alertEmail(payload: EmailPayload, publicUrl: string): { subject: string; text: string } {
  const { alert, rule, reminder } = payload;
  const state =
    payload.type === 'alert.resolved' ? 'RESOLVED' : reminder > 0 ? `STILL FIRING (reminder ${reminder})` : 'FIRING';
  const subject = line(`[AgentPod] ${state} ${alert.severity}: ${alert.summary}`, 200);
  const link = `${publicUrl.replace(/\/+$/, '')}/alerts`;
  const ruleLine = rule
    ? `${rule.name ?? rule.kind} (${rule.scope} rule ${rule.ruleId}${rule.threshold !== null ? `, threshold ${rule.threshold}` : ''}${rule.for ? `, for ${rule.for}` : ''})`
    : alert.ruleId;
  const fields: [string, string | null][] = [
    ['Alert', alert.alertId],
    ['State', alert.state],
    ['Severity', alert.severity],
    ['Kind', alert.kind],
    ['Target', targetOf(alert)],
    ['Rule', ruleLine],
    ['Fired', alert.firedAt],
    ['Resolved', alert.resolvedAt],
  ];
  const body = [
    line(alert.summary, 1_024),
    '',
    ...fields.filter(([, value]) => value !== null).map(([name, value]) => `${name}: ${line(value ?? '')}`),
    '',
    `See it in the console: ${link}`,
    ...(payload.type === 'alert.fired'
      ? [
          `Stop the reminders: agentpod alerts ack ${alert.alertId}   (or silence it: agentpod alerts silence ${alert.alertId} --for 2h)`,
        ]
      : []),
  ];
  return { subject, text: `${body.join('\n')}\n` };
}
