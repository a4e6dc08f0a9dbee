import { z } from 'zod';
import { NodeId } from './agent.ts';
import {
  AlertId,
  AlertKind,
  AlertRuleId,
  AlertSeverity,
  AlertTarget,
  AlertView,
  BUILTIN_POD_FAILING_RULE,
  type AlertKind as Kind,
} from './alerts.ts';
import type { ApiRoute } from './api.ts';
import { Email } from './auth.ts';
import { Duration, durationMs } from './identity.ts';
import { PodId } from './pods.ts';
import { TenantId } from './tenants.ts';

/*
 * Alert rules (issue 8): what the monitor watches and when it fires an alert, at two levels. A tenant's admins
 * add rules about the tenant's pods (all of them, or one); platform admins add rules about nodes or every pod. The
 * monitor evaluates them every AGENTPOD_ALERT_EVAL_SECONDS over the raw metrics and what the pods service reports,
 * and fires at most one alert per rule and target at a time. Also here: acknowledging and silencing alerts, and
 * the log of alert emails. Aggregates in MONITOR: a rule `rul_…`, an email delivery `eml_…`.
 */

/** tenant: about one tenant's pods; platform: about nodes or every pod (platform admins). */
export const RuleScope = z.enum(['tenant', 'platform']);
export type RuleScope = z.infer<typeof RuleScope>;

/** What a rule looks at. */
export const RuleSubject = z.enum(['pod', 'node']);
export type RuleSubject = z.infer<typeof RuleSubject>;

type KindInfo = {
  /** What the rule may watch; the first is the default. */
  subjects: readonly RuleSubject[];
  /** The threshold it takes, if any: its range and what it means. */
  threshold: { min: number; max: number; integer: boolean; meaning: string } | null;
  /** The default `for` (null: the kind has no duration). */
  for: string | null;
  severity: z.infer<typeof AlertSeverity>;
};

const PERCENT = { min: 0, max: 100, integer: false } as const;

/**
 * Each kind: what it watches, its threshold, its default duration and severity.
 * - cpu: average CPU over `for` above `threshold` percent (a pod: of its CPU limit; a node: of the machine);
 * - memory: average memory over `for` above `threshold` percent (a pod: of its limit, else of the node's memory);
 * - disk: a node's fullest mount, average used share over `for` above `threshold` percent;
 * - restarts: at least `threshold` restarts of a pod (Docker's, and the reconciler's recoveries) within `for`;
 * - pod-down: a pod that should run has not been running for `for`;
 * - pod-failing: a pod the reconciler marks failing for `for` (the built-in rule fires at once, from its events);
 * - health-failing: a pod's health probe has said unhealthy for `for`;
 * - node-unreachable: a node has been unreachable for `for`.
 */
export const ALERT_KINDS: Record<Kind, KindInfo> = {
  cpu: {
    subjects: ['pod', 'node'],
    threshold: { ...PERCENT, meaning: 'a percentage above 0 and at most 100' },
    for: '5m',
    severity: 'warning',
  },
  memory: {
    subjects: ['pod', 'node'],
    threshold: { ...PERCENT, meaning: 'a percentage above 0 and at most 100' },
    for: '5m',
    severity: 'warning',
  },
  disk: {
    subjects: ['node'],
    threshold: { ...PERCENT, meaning: 'a percentage above 0 and at most 100' },
    for: '5m',
    severity: 'warning',
  },
  restarts: {
    subjects: ['pod'],
    threshold: { min: 1, max: 1_000, integer: true, meaning: 'a whole number of restarts from 1 to 1000' },
    for: '15m',
    severity: 'warning',
  },
  'pod-down': { subjects: ['pod'], threshold: null, for: '5m', severity: 'critical' },
  'pod-failing': { subjects: ['pod'], threshold: null, for: '1m', severity: 'critical' },
  'health-failing': { subjects: ['pod'], threshold: null, for: '5m', severity: 'warning' },
  'node-unreachable': { subjects: ['node'], threshold: null, for: '5m', severity: 'critical' },
};

/** The longest `for`: raw samples are kept 24 hours. */
export const MAX_RULE_FOR_MS = 86_400_000;
/** The longest silence. */
export const MAX_SILENCE_MS = 30 * 86_400_000;

/** How long a rule's condition must hold (or, for `restarts`, the window): `5m`, `2h`, at most `24h`. */
export const RuleDuration = Duration.refine((value) => durationMs(value) <= MAX_RULE_FOR_MS, 'must be at most 24h');
/** How long to silence: `30m`, `2h`, `7d`, at most 30 days. */
export const SilenceDuration = Duration.refine((value) => durationMs(value) <= MAX_SILENCE_MS, 'must be at most 30d');

const RuleFields = z.object({
  /** For people: "web CPU". */
  name: z.string().trim().min(1).max(100).optional(),
  kind: AlertKind,
  /** pod or node; the kind's default when absent. */
  on: RuleSubject.optional(),
  threshold: z.number().finite().optional(),
  for: RuleDuration.optional(),
  /** Tenant rules only: just this pod (default: every pod of the tenant). */
  podId: PodId.optional(),
  /** Platform node rules only: just this node (default: every node). */
  nodeId: NodeId.optional(),
  /** Who is emailed; default: the tenant's owners and admins (tenant rules), the platform admins (platform). */
  emails: z.array(Email).min(1).max(20).optional(),
  severity: AlertSeverity.optional(),
});
type RuleFields = z.infer<typeof RuleFields>;

/** The checks a rule's fields need together, per kind and scope; each problem names its field. */
function checkRule(rule: RuleFields, scope: RuleScope, ctx: z.RefinementCtx): void {
  const info = ALERT_KINDS[rule.kind];
  const on = rule.on ?? info.subjects[0];
  if (rule.on !== undefined && !info.subjects.includes(rule.on)) {
    ctx.addIssue({
      code: 'custom',
      path: ['on'],
      message: `a ${rule.kind} rule watches ${info.subjects.join(' or ')}`,
    });
  }
  if (scope === 'tenant' && on !== 'pod') {
    ctx.addIssue({
      code: 'custom',
      path: ['kind'],
      message: `${rule.kind} rules on nodes are platform rules (platform admins, no tenant)`,
    });
  }
  if (rule.podId !== undefined && scope !== 'tenant') {
    ctx.addIssue({ code: 'custom', path: ['podId'], message: 'only a tenant rule can name a pod' });
  }
  if (rule.nodeId !== undefined && (scope !== 'platform' || on !== 'node')) {
    ctx.addIssue({ code: 'custom', path: ['nodeId'], message: 'only a platform rule on nodes can name a node' });
  }
  const limits = info.threshold;
  if (limits === null) {
    if (rule.threshold !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['threshold'], message: `a ${rule.kind} rule takes no threshold` });
    }
  } else if (rule.threshold === undefined) {
    ctx.addIssue({ code: 'custom', path: ['threshold'], message: `a ${rule.kind} rule needs one: ${limits.meaning}` });
  } else {
    const { threshold } = rule;
    const inRange =
      threshold > limits.min && threshold <= limits.max && (!limits.integer || Number.isInteger(threshold));
    if (!inRange) ctx.addIssue({ code: 'custom', path: ['threshold'], message: `must be ${limits.meaning}` });
  }
}

/** A new rule, as the monitor's command takes it: no `tenantId` makes it a platform rule. */
const AddAlertRule = RuleFields.extend({ tenantId: TenantId.optional() })
  .strict()
  .superRefine((rule, ctx) => checkRule(rule, rule.tenantId === undefined ? 'platform' : 'tenant', ctx));

/** The body of `POST /api/v1/tenants/:tenant/alert-rules`. */
export const TenantAlertRuleBody = RuleFields.strict().superRefine((rule, ctx) => checkRule(rule, 'tenant', ctx));
/** The body of `POST /api/v1/alert-rules`. */
export const PlatformAlertRuleBody = RuleFields.strict().superRefine((rule, ctx) => checkRule(rule, 'platform', ctx));

/** A rule as stored: every default applied. */
export const AlertRuleDefinition = z.object({
  ruleId: AlertRuleId,
  /** null: a platform rule. */
  tenantId: TenantId.nullable(),
  name: z.string().nullable(),
  kind: AlertKind,
  on: RuleSubject,
  threshold: z.number().nullable(),
  for: z.string().nullable(),
  podId: PodId.nullable(),
  nodeId: NodeId.nullable(),
  /** Empty: the default recipients. */
  emails: z.array(z.string()),
  severity: AlertSeverity,
});
export type AlertRuleDefinition = z.infer<typeof AlertRuleDefinition>;

/** The fields with their defaults, for a new rule (`ruleId` and `tenantId` are the caller's). */
export function ruleDefinition(
  ruleId: string,
  tenantId: string | null,
  fields: z.infer<typeof RuleFields>,
): AlertRuleDefinition {
  const info = ALERT_KINDS[fields.kind];
  return {
    ruleId,
    tenantId,
    name: fields.name ?? null,
    kind: fields.kind,
    on: fields.on ?? info.subjects[0] ?? 'pod',
    threshold: fields.threshold ?? null,
    for: fields.for ?? info.for,
    podId: fields.podId ?? null,
    nodeId: fields.nodeId ?? null,
    emails: [...new Set(fields.emails ?? [])],
    severity: fields.severity ?? info.severity,
  };
}

/** The built-in rule, as listed. */
export const BUILTIN_POD_FAILING: AlertRuleDefinition = {
  ruleId: BUILTIN_POD_FAILING_RULE,
  tenantId: null,
  name: 'pod failing (built in)',
  kind: 'pod-failing',
  on: 'pod',
  threshold: null,
  for: null,
  podId: null,
  nodeId: null,
  emails: [],
  severity: 'critical',
};

/** `eml_` and 24 lower-case hex digits, derived from the alert event it tells of. */
export const EmailDeliveryId = z.string().regex(/^eml_[a-z0-9]{20,40}$/, 'must be an email delivery id (eml_…)');

/** rule: the rule's `emails`; tenant-admins: the tenant's owners and admins; platform-admins. */
export const EmailAudience = z.enum(['rule', 'tenant-admins', 'platform-admins']);
export type EmailAudience = z.infer<typeof EmailAudience>;

/** sent; retrying; failed (every attempt failed); skipped: not sent on purpose (no SMTP server, no recipient). */
export const EmailOutcome = z.enum(['sent', 'retrying', 'failed', 'skipped']);
export type EmailOutcome = z.infer<typeof EmailOutcome>;

export const alertRuleEvents = {
  AlertRuleAdded: AlertRuleDefinition,
  /** Its firing alerts resolve at the next evaluation. */
  AlertRuleRemoved: z.object({ ruleId: AlertRuleId, tenantId: TenantId.nullable() }),
  /** No notifications from this rule (about `target`, or about anything when null) until `until`. */
  AlertRuleSilenced: z.object({
    ruleId: AlertRuleId,
    tenantId: TenantId.nullable(),
    target: AlertTarget.nullable(),
    until: z.iso.datetime({ offset: true }),
    by: z.string().max(128),
  }),
};

export const emailEvents = {
  /** One attempt to email the recipients of one alert event, and what came of it (every attempt is recorded). */
  EmailAttempted: z.object({
    deliveryId: EmailDeliveryId,
    alertId: AlertId,
    tenantId: TenantId.nullable(),
    attempt: z.number().int().positive(),
    at: z.iso.datetime({ offset: true }),
    /** How many addresses it went to (the addresses themselves are not logged). */
    recipients: z.number().int().nonnegative(),
    error: z.string().max(1_024).nullable(),
    durationMs: z.number().int().nonnegative(),
    outcome: EmailOutcome,
    nextAttemptAt: z.iso.datetime({ offset: true }).nullable(),
  }),
};

export const AlertRuleView = AlertRuleDefinition.extend({
  scope: RuleScope,
  builtIn: z.boolean(),
  /** Silences in force: of the whole rule (target null) or of one target. */
  silences: z.array(z.object({ target: AlertTarget.nullable(), until: z.string() })),
  createdAt: z.string().nullable(),
});
export type AlertRuleView = z.infer<typeof AlertRuleView>;

export const EmailAttemptView = z.object({
  attempt: z.number().int().positive(),
  at: z.string(),
  recipients: z.number().int().nonnegative(),
  error: z.string().nullable(),
  durationMs: z.number().int().nonnegative(),
  outcome: EmailOutcome,
});

export const EmailDeliveryView = z.object({
  deliveryId: EmailDeliveryId,
  alertId: AlertId,
  /** alert.fired (a reminder too) or alert.resolved. */
  type: z.enum(['alert.fired', 'alert.resolved']),
  reminder: z.number().int().nonnegative(),
  audience: EmailAudience,
  status: z.enum(['pending', 'sent', 'failed', 'skipped']),
  attempts: z.number().int().nonnegative(),
  nextAttemptAt: z.string().nullable(),
  createdAt: z.string(),
  log: z.array(EmailAttemptView),
});
export type EmailDeliveryView = z.infer<typeof EmailDeliveryView>;

const ruleKey = z.object({ tenantId: TenantId.optional(), ruleId: AlertRuleId }).strict();
const silenceTarget = { podId: PodId.optional(), nodeId: NodeId.optional() };

export const AlertRuleCommands = {
  addAlertRule: AddAlertRule,
  /** No tenant: a platform rule. The built-in rule cannot be removed. */
  removeAlertRule: ruleKey,
  /** Silence a rule for `for`: entirely, or only about one pod (tenant rules) or node (platform node rules). */
  silenceAlertRule: ruleKey.extend({ for: SilenceDuration, ...silenceTarget }).strict(),
  /** Tenant alerts: member or above; platform alerts: platform admins. Only a firing alert. */
  ackAlert: z.object({ alertId: AlertId }).strict(),
  silenceAlert: z.object({ alertId: AlertId, for: SilenceDuration }).strict(),
};

export const AlertRuleQueries = {
  /** A tenant's rules (viewer+), or (no tenant) the platform rules, the built-in one first (platform admins). */
  listAlertRules: z.object({ tenantId: TenantId.optional() }).strict(),
  /** The emails about one alert, newest first, with every attempt (whoever may read the alert). */
  listAlertEmails: z
    .object({ alertId: AlertId, limit: z.coerce.number().int().min(1).max(1_000).default(50) })
    .strict(),
};

export const AlertRuleResults = {
  addAlertRule: AlertRuleView,
  removeAlertRule: z.object({ removed: z.literal(true) }),
  silenceAlertRule: AlertRuleView,
  ackAlert: AlertView,
  silenceAlert: AlertView,
  listAlertRules: z.object({ rules: z.array(AlertRuleView) }),
  listAlertEmails: z.object({ emails: z.array(EmailDeliveryView) }),
} satisfies Record<keyof typeof AlertRuleCommands | keyof typeof AlertRuleQueries, z.ZodType>;
export type AlertRuleResult<K extends keyof typeof AlertRuleResults> = z.infer<(typeof AlertRuleResults)[K]>;

const alertParams = z.object({ alert: AlertId });
const tenantParams = z.object({ tenant: TenantId });
const tenantRuleParams = z.object({ tenant: TenantId, rule: AlertRuleId });
const ruleParams = z.object({ rule: AlertRuleId });
const silenceBody = z.object({ for: SilenceDuration }).strict();
const ruleSilenceBody = z.object({ for: SilenceDuration, ...silenceTarget }).strict();

export const alertRuleRoutes = {
  ackAlert: {
    method: 'POST',
    path: '/api/v1/alerts/:alert/ack',
    summary:
      'Acknowledge a firing alert: no more reminders (its resolution is still notified); recorded with who. ' +
      "Members and above of the alert's tenant; platform alerts: platform admins",
    access: 'signedIn',
    params: alertParams,
    response: AlertView,
  },
  silenceAlert: {
    method: 'POST',
    path: '/api/v1/alerts/:alert/silence',
    summary: 'Silence a firing alert for a while (`for`: 30m, 2h, 7d): no notifications; it still shows',
    access: 'signedIn',
    params: alertParams,
    body: silenceBody,
    response: AlertView,
  },
  listAlertEmails: {
    method: 'GET',
    path: '/api/v1/alerts/:alert/emails',
    summary: 'The emails about an alert, newest first, with every attempt (sent, retried, failed or skipped)',
    access: 'signedIn',
    params: alertParams,
    query: z.object({ limit: z.coerce.number().int().min(1).max(1_000).default(50) }).strict(),
    response: AlertRuleResults.listAlertEmails,
  },
  listTenantAlertRules: {
    method: 'GET',
    path: '/api/v1/tenants/:tenant/alert-rules',
    summary: "A tenant's alert rules",
    access: { tenant: 'viewer' },
    params: tenantParams,
    response: AlertRuleResults.listAlertRules,
  },
  addTenantAlertRule: {
    method: 'POST',
    path: '/api/v1/tenants/:tenant/alert-rules',
    summary:
      "Add an alert rule about the tenant's pods (or one of them): cpu, memory, restarts, pod-down, pod-failing, " +
      'health-failing',
    access: { tenant: 'admin' },
    params: tenantParams,
    body: TenantAlertRuleBody,
    status: 201,
    response: AlertRuleView,
  },
  removeTenantAlertRule: {
    method: 'DELETE',
    path: '/api/v1/tenants/:tenant/alert-rules/:rule',
    summary: 'Remove an alert rule; its firing alerts resolve',
    access: { tenant: 'admin' },
    params: tenantRuleParams,
    status: 204,
  },
  silenceTenantAlertRule: {
    method: 'POST',
    path: '/api/v1/tenants/:tenant/alert-rules/:rule/silence',
    summary: 'Silence an alert rule for a while, entirely or about one pod (`podId`)',
    access: { tenant: 'admin' },
    params: tenantRuleParams,
    body: ruleSilenceBody,
    response: AlertRuleView,
  },
  listPlatformAlertRules: {
    method: 'GET',
    path: '/api/v1/alert-rules',
    summary: 'The platform alert rules, the built-in pod-failing rule first',
    access: 'platformAdmin',
    response: AlertRuleResults.listAlertRules,
  },
  addPlatformAlertRule: {
    method: 'POST',
    path: '/api/v1/alert-rules',
    summary: 'Add a platform alert rule about nodes (cpu, memory, disk, node-unreachable) or every pod',
    access: 'platformAdmin',
    body: PlatformAlertRuleBody,
    status: 201,
    response: AlertRuleView,
  },
  removePlatformAlertRule: {
    method: 'DELETE',
    path: '/api/v1/alert-rules/:rule',
    summary: 'Remove a platform alert rule (not the built-in one); its firing alerts resolve',
    access: 'platformAdmin',
    params: ruleParams,
    status: 204,
  },
  silencePlatformAlertRule: {
    method: 'POST',
    path: '/api/v1/alert-rules/:rule/silence',
    summary: 'Silence a platform alert rule for a while, entirely or about one node (`nodeId`)',
    access: 'platformAdmin',
    params: ruleParams,
    body: ruleSilenceBody,
    response: AlertRuleView,
  },
} satisfies Record<string, ApiRoute>;
