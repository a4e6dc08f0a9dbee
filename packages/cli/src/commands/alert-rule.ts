import type { AlertRuleView } from '@agentpod/contracts';
import { defineCommand, usageError } from '../args.ts';
import { clean, EXIT, formatFields, formatTable, formatTime } from '../output.ts';

/*
 * `agentpod alert-rule add|list|rm|silence`: alert rules of a tenant (its admins; `--tenant`), or of the platform
 * (platform admins; no `--tenant`): about nodes, or every pod.
 */

const TENANT = {
  type: 'string',
  value: 'T',
  description: 'the tenant whose rule it is (without it: a platform rule, platform admins only)',
} as const;
const LABELS: Record<string, string> = {
  tenant: '--tenant',
  rule: '<id>',
  kind: '--kind',
  on: '--on',
  threshold: '--threshold',
  for: '--for',
  podId: '--pod',
  nodeId: '--node',
  emails: '--email',
  severity: '--severity',
  name: '--name',
  ...Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`emails.${i}`, '--email'])),
};

const scopeOf = (rule: AlertRuleView): string =>
  rule.podId ?? rule.nodeId ?? (rule.on === 'node' ? 'all nodes' : 'all pods');
const silencesOf = (rule: AlertRuleView): string =>
  rule.silences.length === 0
    ? '-'
    : rule.silences
        .map((s) => `${s.target ? (s.target.podId ?? s.target.nodeId) : 'all'} until ${formatTime(s.until)}`)
        .join(', ');

export function formatRules(rules: readonly AlertRuleView[]): string {
  if (rules.length === 0) return 'no alert rules\n';
  return formatTable(
    ['id', 'kind', 'threshold', 'for', 'on', 'severity', 'emails', 'silenced', 'name'],
    rules.map((r) => [
      r.ruleId,
      r.kind,
      r.threshold ?? '-',
      r.for ?? '-',
      scopeOf(r),
      r.severity,
      r.emails.length > 0 ? r.emails.join(',') : 'default',
      silencesOf(r),
      r.builtIn ? `${r.name ?? ''} (built in)` : (r.name ?? '-'),
    ]),
  );
}

function formatRule(rule: AlertRuleView): string {
  return formatFields([
    ['id', rule.ruleId],
    ['scope', rule.tenantId ? `tenant ${rule.tenantId}` : 'platform'],
    ['kind', rule.kind],
    ['threshold', rule.threshold ?? '-'],
    ['for', rule.for ?? '-'],
    ['on', scopeOf(rule)],
    ['severity', rule.severity],
    ['emails', rule.emails.length > 0 ? rule.emails.join(', ') : 'default (owners and admins, or platform admins)'],
    ['silenced', silencesOf(rule)],
  ]);
}

function threshold(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value))
    throw usageError(`invalid --threshold: "${clean(text)}" is not a number`);
  return value;
}

export const alertRuleAddCommand = defineCommand({
  path: ['alert-rule', 'add'],
  summary: 'Add an alert rule: a threshold over a duration, restarts, pod down or failing, health, node unreachable',
  options: {
    tenant: TENANT,
    kind: {
      type: 'string',
      value: 'K',
      required: true,
      description: 'cpu, memory, disk, restarts, pod-down, pod-failing, health-failing, node-unreachable',
    },
    threshold: { type: 'string', value: 'N', description: 'percent (cpu, memory, disk) or restarts (restarts)' },
    for: { type: 'string', value: 'D', description: 'how long it must hold (restarts: the window), e.g. 5m; max 24h' },
    pod: { type: 'string', value: 'P', description: 'only this pod of the tenant' },
    node: { type: 'string', value: 'N', description: 'platform node rules: only this node' },
    on: { type: 'string', value: 'pod|node', description: 'platform cpu/memory rules: nodes or every pod' },
    email: { type: 'string', value: 'A', multiple: true, description: 'email this address (repeatable)' },
    severity: { type: 'string', value: 'S', description: 'info, warning or critical (default per kind)' },
    name: { type: 'string', value: 'X', description: 'a name for people' },
  },
  details:
    'cpu, memory and disk fire when the AVERAGE over --for is above --threshold percent (pods: of their limit).\n' +
    'Emails go to --email addresses, else to the tenant owners and admins (platform rules: platform admins).',
  async run(ctx, { options }) {
    const body = {
      kind: options.kind,
      threshold: threshold(options.threshold),
      for: options.for,
      podId: options.pod,
      nodeId: options.node,
      on: options.on,
      emails: options.email,
      severity: options.severity,
      name: options.name,
    };
    const client = await ctx.client();
    const rule =
      options.tenant === undefined
        ? await client.call('addPlatformAlertRule', { body }, { labels: LABELS })
        : await client.call('addTenantAlertRule', { params: { tenant: options.tenant }, body }, { labels: LABELS });
    ctx.out.result(rule, () => formatRule(rule));
    return EXIT.ok;
  },
});

export const alertRuleListCommand = defineCommand({
  path: ['alert-rule', 'list'],
  summary: "A tenant's alert rules, or (without --tenant) the platform's",
  options: { tenant: TENANT },
  async run(ctx, { options }) {
    const client = await ctx.client();
    const { rules } =
      options.tenant === undefined
        ? await client.call('listPlatformAlertRules', {}, { labels: LABELS })
        : await client.call('listTenantAlertRules', { params: { tenant: options.tenant } }, { labels: LABELS });
    ctx.out.result({ rules }, () => formatRules(rules));
    return EXIT.ok;
  },
});

export const alertRuleRemoveCommand = defineCommand({
  path: ['alert-rule', 'rm'],
  summary: 'Remove an alert rule; its firing alerts resolve',
  args: ['id'],
  options: { tenant: TENANT },
  async run(ctx, { args, options }) {
    const client = await ctx.client();
    if (options.tenant === undefined) {
      await client.call('removePlatformAlertRule', { params: { rule: args.id } }, { labels: LABELS });
    } else {
      await client.call(
        'removeTenantAlertRule',
        { params: { tenant: options.tenant, rule: args.id } },
        { labels: LABELS },
      );
    }
    ctx.out.result({ ruleId: args.id, removed: true }, () => `removed alert rule ${clean(args.id)}\n`);
    return EXIT.ok;
  },
});

export const alertRuleSilenceCommand = defineCommand({
  path: ['alert-rule', 'silence'],
  summary: 'Silence an alert rule for a while: entirely, or about one pod (tenant rules) or node (platform)',
  args: ['id'],
  options: {
    tenant: TENANT,
    for: { type: 'string', value: 'D', required: true, description: 'how long: 30m, 2h, 7d (at most 30d)' },
    pod: { type: 'string', value: 'P', description: 'only about this pod' },
    node: { type: 'string', value: 'N', description: 'only about this node' },
  },
  async run(ctx, { args, options }) {
    const client = await ctx.client();
    const body = { for: options.for, podId: options.pod, nodeId: options.node };
    const rule =
      options.tenant === undefined
        ? await client.call('silencePlatformAlertRule', { params: { rule: args.id }, body }, { labels: LABELS })
        : await client.call(
            'silenceTenantAlertRule',
            { params: { tenant: options.tenant, rule: args.id }, body },
            { labels: LABELS },
          );
    ctx.out.result(rule, () => formatRule(rule));
    return EXIT.ok;
  },
});

export const alertRuleCommands = [
  alertRuleAddCommand,
  alertRuleListCommand,
  alertRuleRemoveCommand,
  alertRuleSilenceCommand,
];
