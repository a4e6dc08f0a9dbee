import type { AlertKind, AlertRuleView, RuleScope, RuleSubject } from '@agentpod/contracts';

/*
 * The alert-rule form of the alerts page: its fields as the API's body (TenantAlertRuleBody or
 * PlatformAlertRuleBody, contracts/src/alert-rules.ts, which the page then applies), the schema's issues mapped
 * back onto fields, and a rule in one line for people. Pure: rule-form.unit.test.ts.
 */

export type RuleFormFields = {
  name: string;
  kind: AlertKind;
  /** '' = the kind's default subject. */
  on: '' | RuleSubject;
  threshold: string;
  for: string;
  podId: string;
  nodeId: string;
  /** '' = the kind's default severity. */
  severity: string;
  /** Comma- or space-separated; '' = the default recipients. */
  emails: string;
};

export const KIND_LABELS: Record<AlertKind, string> = {
  cpu: 'CPU',
  memory: 'Memory',
  disk: 'Disk',
  restarts: 'Restarts',
  'pod-down': 'Pod down',
  'pod-failing': 'Pod failing',
  'health-failing': 'Health failing',
  'node-unreachable': 'Node unreachable',
};

type KindInfo = { subjects: readonly RuleSubject[] };

/** Kinds a scope can add: a tenant's rules watch its pods only. */
export function kindsFor(scope: RuleScope, kinds: Record<AlertKind, KindInfo>): AlertKind[] {
  return (Object.keys(kinds) as AlertKind[]).filter(
    (kind) => scope === 'platform' || kinds[kind].subjects.includes('pod'),
  );
}

export function ruleBodyFromForm(
  fields: RuleFormFields,
  scope: RuleScope,
): { body: Record<string, unknown>; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const body: Record<string, unknown> = { kind: fields.kind };
  const name = fields.name.trim();
  if (name) body.name = name;
  if (scope === 'platform' && fields.on) body.on = fields.on;
  const threshold = fields.threshold.trim();
  if (threshold !== '') {
    const value = Number(threshold.replace(/\s*%$/, ''));
    if (Number.isFinite(value)) body.threshold = value;
    else errors.threshold = 'must be a number';
  }
  const duration = fields.for.trim().toLowerCase().replace(/\s+/g, '');
  if (duration) body.for = duration;
  if (scope === 'tenant' && fields.podId.trim()) body.podId = fields.podId.trim();
  if (scope === 'platform' && fields.nodeId.trim()) body.nodeId = fields.nodeId.trim();
  if (fields.severity) body.severity = fields.severity;
  const emails = fields.emails.split(/[\s,;]+/).filter((email) => email !== '');
  if (emails.length > 0) body.emails = emails;
  return { body, errors };
}

/** zod issues by the field they are about (the first of each); '' for the form as a whole. */
export function issuesByField(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of issues) {
    const field = issue.path.length > 0 ? String(issue.path[0]) : '';
    errors[field] ??= issue.message;
  }
  return errors;
}

/** "CPU above 80 % for 5m on every pod", "Node unreachable for 5m on node n1". */
export function describeRule(
  rule: Pick<AlertRuleView, 'kind' | 'on' | 'threshold' | 'for' | 'podId' | 'nodeId' | 'tenantId'>,
): string {
  const label = KIND_LABELS[rule.kind] ?? rule.kind;
  const condition =
    rule.threshold === null
      ? label
      : rule.kind === 'restarts'
        ? `${rule.threshold} restarts or more`
        : `${label} above ${rule.threshold} %`;
  const duration = rule.for ? (rule.kind === 'restarts' ? ` within ${rule.for}` : ` for ${rule.for}`) : '';
  const target = rule.podId
    ? `pod ${rule.podId}`
    : rule.nodeId
      ? `node ${rule.nodeId}`
      : rule.on === 'node'
        ? 'every node'
        : rule.tenantId
          ? 'every pod of the tenant'
          : 'every pod';
  return `${condition}${duration} on ${target}`;
}
