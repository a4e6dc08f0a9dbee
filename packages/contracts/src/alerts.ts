import { z } from 'zod';
import { NodeId } from './agent.ts';
import type { ApiRoute } from './api.ts';
import { Encrypted } from './pod-lifecycle.ts';
import { PodId } from './pods.ts';
import { CONTEXTS } from './subjects.ts';
import { TenantId } from './tenants.ts';

/*
 * Alerts and the webhooks that hear about them: the MONITOR stream's events, the monitor's commands and queries,
 * and their REST routes (`routes` in api.ts spreads `alertRoutes` in).
 *
 * Aggregates in MONITOR: an alert series `alert_<kind>_<tenant>_<pod>` (one per kind and target: at most one of its
 * alerts fires at a time, so a repeated cause is not a second alert), a webhook `whk_…`, a delivery `dlv_…` (its
 * attempts).
 */

/**
 * What an alert is about: `pod-failing` (the reconciler gave up healing a pod for now), thresholds over a window
 * (`cpu`, `memory`, `disk`, `restarts`) and states that last (`pod-down`, `health-failing`, `node-unreachable`).
 * Every kind is also the kind of the alert rules that fire it (packages/contracts/src/alert-rules.ts).
 */
export const AlertKind = z.enum([
  'pod-failing',
  'cpu',
  'memory',
  'disk',
  'restarts',
  'pod-down',
  'health-failing',
  'node-unreachable',
]);
export type AlertKind = z.infer<typeof AlertKind>;

/** `rul_` and 8–40 lower-case letters, digits or `-` (random ones: 24 letters or digits). */
export const AlertRuleId = z.string().regex(/^rul_[a-z0-9-]{8,40}$/, 'must be an alert rule id (rul_…)');
export type AlertRuleId = z.infer<typeof AlertRuleId>;

/**
 * The built-in platform rule behind the reconciler's PodFailing / PodRecovered: it always exists and cannot be
 * removed. Alert events from before rules existed belong to it.
 */
export const BUILTIN_POD_FAILING_RULE = 'rul_builtin-pod-failing';

/** Why an alert event was not notified: its alert or rule was silenced, or its tenant hit the hourly cap. */
export const NotifySuppression = z.enum(['silenced', 'rate-limited']);
export type NotifySuppression = z.infer<typeof NotifySuppression>;

/** What a notification says about the rule behind an alert (never its email recipients). */
export const AlertRuleSummary = z.object({
  ruleId: AlertRuleId,
  name: z.string().nullable(),
  kind: AlertKind,
  /** tenant: a tenant's own rule; platform: a platform admin's (or the built-in one). */
  scope: z.enum(['tenant', 'platform']),
  threshold: z.number().nullable(),
  for: z.string().nullable(),
  builtIn: z.boolean(),
});
export type AlertRuleSummary = z.infer<typeof AlertRuleSummary>;

export const AlertSeverity = z.enum(['info', 'warning', 'critical']);
export type AlertSeverity = z.infer<typeof AlertSeverity>;

export const AlertState = z.enum(['firing', 'resolved']);
export type AlertState = z.infer<typeof AlertState>;

/** `alr_` and 24 lower-case hex digits, derived from what fired it (the same cause, the same id). */
export const AlertId = z.string().regex(/^alr_[a-z0-9]{20,40}$/, 'must be an alert id (alr_…)');
/** `whk_` and 24 lower-case letters or digits. */
export const WebhookId = z.string().regex(/^whk_[a-z0-9]{20,40}$/, 'must be a webhook id (whk_…)');
/** `dlv_` and 24 lower-case letters or digits; the receiver sees it as the payload's `id` (the same on every retry). */
export const DeliveryId = z.string().regex(/^dlv_[a-z0-9]{20,40}$/, 'must be a delivery id (dlv_…)');

/** What the alert is about; fields that do not apply are null (a node alert has no pod, a platform one no tenant). */
export const AlertTarget = z.object({
  tenantId: TenantId.nullable(),
  podId: PodId.nullable(),
  nodeId: NodeId.nullable(),
});
export type AlertTarget = z.infer<typeof AlertTarget>;

/** Flat facts for people and receivers (`reason`, `failures`, `exitCode`…), no nesting. */
export const AlertDetails = z.record(
  z.string().max(64),
  z.union([z.string().max(4_096), z.number(), z.boolean(), z.null()]),
);
export type AlertDetails = z.infer<typeof AlertDetails>;

/** The event that caused a change of an alert: recorded so the same event is never acted on twice. */
export const AlertSource = z.object({
  context: z.enum(CONTEXTS),
  eventId: z.string().min(1),
  /** Its sequence in its context's stream: the series ignores any source at or before the last it acted on. */
  seq: z.number().int().positive(),
});
export type AlertSource = z.infer<typeof AlertSource>;

/** Events a webhook can subscribe to; `ping` (a test) always goes to the webhook it tests. */
export const WebhookEventType = z.enum(['alert.fired', 'alert.resolved']);
export type WebhookEventType = z.infer<typeof WebhookEventType>;
export const DeliveryType = z.enum(['alert.fired', 'alert.resolved', 'ping']);
export type DeliveryType = z.infer<typeof DeliveryType>;

/** pending: waiting for its (next) attempt; delivered: a 2xx answer; failed: every attempt failed. */
export const DeliveryStatus = z.enum(['pending', 'delivered', 'failed']);
export type DeliveryStatus = z.infer<typeof DeliveryStatus>;
/** What one attempt came to: `retrying` schedules another. */
export const AttemptOutcome = z.enum(['delivered', 'retrying', 'failed']);
export type AttemptOutcome = z.infer<typeof AttemptOutcome>;

/**
 * Where a webhook posts: an absolute http(s) URL without credentials in it. Whether its host may be a private,
 * loopback or link-local address is the monitor's decision (AGENTPOD_WEBHOOK_ALLOW_PRIVATE), made when it is added
 * and again on every delivery.
 */
export const WebhookUrl = z
  .string()
  .trim()
  .min(1)
  .max(2_048)
  .superRefine((text, ctx) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute URL such as https://example.com/hooks/agentpod' });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: `must be an http:// or https:// URL, not ${url.protocol}//` });
    }
    if (url.username !== '' || url.password !== '') {
      ctx.addIssue({ code: 'custom', message: 'must not carry a user name or password' });
    }
  });

export const alertEvents = {
  /** An alert starts firing. Its series fires no other alert until this one is resolved. */
  AlertFired: z.object({
    alertId: AlertId,
    /** The tenant it belongs to (and whose webhooks hear of it); null for a platform alert. */
    tenantId: TenantId.nullable(),
    kind: AlertKind,
    severity: AlertSeverity,
    target: AlertTarget,
    /** One sentence for people: "acme/web is failing: exited with code 1 3 times in a row; next try in 4 s". */
    summary: z.string().max(1_024),
    details: AlertDetails,
    source: AlertSource,
    /** The rule that fired it. */
    ruleId: AlertRuleId.default(BUILTIN_POD_FAILING_RULE),
    /** Whether webhooks and email hear of it: not while silenced, nor beyond the tenant's hourly cap. */
    notify: z.boolean().default(true),
    suppressed: NotifySuppression.nullable().default(null),
  }),
  /** The firing alert of the series ended. */
  AlertResolved: z.object({
    alertId: AlertId,
    tenantId: TenantId.nullable(),
    kind: AlertKind,
    target: AlertTarget,
    summary: z.string().max(1_024),
    source: AlertSource,
    ruleId: AlertRuleId.default(BUILTIN_POD_FAILING_RULE),
    notify: z.boolean().default(true),
    suppressed: NotifySuppression.nullable().default(null),
  }),
  /**
   * A firing alert, neither acknowledged nor silenced, is notified again (AGENTPOD_ALERT_RENOTIFY after the last
   * notification, or once a silence ends): `reminder` counts these, 1 for the first.
   */
  AlertRenotified: z.object({
    alertId: AlertId,
    tenantId: TenantId.nullable(),
    reminder: z.number().int().positive(),
  }),
  /** Someone took the firing alert on: no more reminders (its resolution is still notified). */
  AlertAcknowledged: z.object({
    alertId: AlertId,
    tenantId: TenantId.nullable(),
    /** The user (or service) who acknowledged it. */
    by: z.string().max(128),
  }),
  /** No notifications about this alert until `until` (it still shows, fires and resolves). */
  AlertSilenced: z.object({
    alertId: AlertId,
    tenantId: TenantId.nullable(),
    until: z.iso.datetime({ offset: true }),
    by: z.string().max(128),
  }),
};

export const webhookEvents = {
  /** The URL and the signing secret are stored encrypted (the URL may itself be a credential); `urlOrigin` is not. */
  WebhookAdded: z.object({
    webhookId: WebhookId,
    tenantId: TenantId,
    url: Encrypted,
    urlOrigin: z.string(),
    events: z.array(WebhookEventType).min(1),
    secret: Encrypted,
  }),
  /** Its pending deliveries are dropped with it. */
  WebhookRemoved: z.object({ webhookId: WebhookId, tenantId: TenantId }),
  /** `webhook test`: one `ping` delivery, `deliveryId`. */
  WebhookTestRequested: z.object({ webhookId: WebhookId, tenantId: TenantId, deliveryId: DeliveryId }),
};

export const deliveryEvents = {
  /** One POST to the webhook and what came of it (every attempt is recorded). */
  DeliveryAttempted: z.object({
    deliveryId: DeliveryId,
    webhookId: WebhookId,
    tenantId: TenantId,
    /** 1 for the first attempt; gap-free. */
    attempt: z.number().int().positive(),
    at: z.iso.datetime({ offset: true }),
    /** The answer's HTTP status; null when none came (refused connection, timeout, refused address). */
    statusCode: z.number().int().nullable(),
    error: z.string().max(1_024).nullable(),
    durationMs: z.number().int().nonnegative(),
    outcome: AttemptOutcome,
    /** When the next attempt is due (`retrying` only). */
    nextAttemptAt: z.iso.datetime({ offset: true }).nullable(),
  }),
};

export const AlertView = z.object({
  alertId: AlertId,
  tenantId: TenantId.nullable(),
  kind: AlertKind,
  severity: AlertSeverity,
  state: AlertState,
  target: AlertTarget,
  summary: z.string(),
  details: AlertDetails,
  firedAt: z.string(),
  resolvedAt: z.string().nullable(),
  ruleId: AlertRuleId.default(BUILTIN_POD_FAILING_RULE),
  /** Who acknowledged it (a user id), and when; null while not acknowledged. */
  acknowledgedBy: z.string().nullable().default(null),
  acknowledgedAt: z.string().nullable().default(null),
  /** No notifications about it before this time; null when never silenced. */
  silencedUntil: z.string().nullable().default(null),
  /** Notifications sent about it so far (firing, reminders, resolved), and the last one's time. */
  notifications: z.number().int().nonnegative().default(0),
  lastNotifiedAt: z.string().nullable().default(null),
});
export type AlertView = z.infer<typeof AlertView>;

/** A webhook as its tenant's admins see it: the URL in clear, never the secret. */
export const WebhookView = z.object({
  webhookId: WebhookId,
  tenantId: TenantId,
  url: z.string(),
  events: z.array(WebhookEventType),
  createdAt: z.string(),
});
export type WebhookView = z.infer<typeof WebhookView>;

export const DeliveryAttemptView = z.object({
  attempt: z.number().int().positive(),
  at: z.string(),
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number().int().nonnegative(),
  outcome: AttemptOutcome,
});
export type DeliveryAttemptView = z.infer<typeof DeliveryAttemptView>;

export const DeliveryView = z.object({
  deliveryId: DeliveryId,
  webhookId: WebhookId,
  tenantId: TenantId,
  type: DeliveryType,
  alertId: AlertId.nullable(),
  status: DeliveryStatus,
  attempts: z.number().int().nonnegative(),
  nextAttemptAt: z.string().nullable(),
  createdAt: z.string(),
  /** Every attempt, first first. */
  log: z.array(DeliveryAttemptView),
});
export type DeliveryView = z.infer<typeof DeliveryView>;

/**
 * The JSON body a webhook receives. Headers: `X-AgentPod-Event` (= type), `X-AgentPod-Delivery` (= id),
 * `X-AgentPod-Timestamp` (Unix seconds of the attempt) and `X-AgentPod-Signature`:
 * `sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`, over the body's exact bytes.
 */
export const WebhookPayload = z.object({
  id: DeliveryId,
  type: DeliveryType,
  createdAt: z.string(),
  tenantId: TenantId,
  /** The alert as it was when this happened; null for a ping. */
  alert: AlertView.nullable(),
  /** The rule that fired the alert; null for a ping. */
  rule: AlertRuleSummary.nullable().default(null),
  /** 0, or the number of this reminder about a still-firing alert (`alert.fired` again). */
  reminder: z.number().int().nonnegative().default(0),
});
export type WebhookPayload = z.infer<typeof WebhookPayload>;

export const WEBHOOK_HEADERS = {
  signature: 'x-agentpod-signature',
  timestamp: 'x-agentpod-timestamp',
  event: 'x-agentpod-event',
  delivery: 'x-agentpod-delivery',
} as const;

/** Shown once, when the webhook is added: receivers verify signatures with it. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

const webhookKey = z.object({ tenantId: TenantId, webhookId: WebhookId }).strict();
const Limit = (fallback: number) => z.coerce.number().int().min(1).max(1_000).default(fallback);

export const MonitorCommands = {
  addWebhook: z
    .object({
      tenantId: TenantId,
      url: WebhookUrl,
      /** Default: every alert event. */
      events: z.array(WebhookEventType).min(1).max(8).optional(),
    })
    .strict(),
  removeWebhook: webhookKey,
  testWebhook: webhookKey,
};

export const MonitorQueries = {
  /** One tenant's alerts (viewer+), or (no tenant) every alert the caller may see; newest first. */
  listAlerts: z.object({ tenantId: TenantId.optional(), state: AlertState.optional(), limit: Limit(100) }).strict(),
  listWebhooks: z.object({ tenantId: TenantId }).strict(),
  /** A webhook's deliveries, newest first, each with its attempts. */
  listDeliveries: webhookKey.extend({ limit: Limit(50) }).strict(),
};

export const AddWebhookResult = z.object({
  webhook: WebhookView,
  /** `whsec_…`: shown this once; it signs every delivery. */
  secret: z.string(),
});

export const MonitorResults = {
  addWebhook: AddWebhookResult,
  removeWebhook: z.object({ removed: z.literal(true) }),
  testWebhook: DeliveryView,
  listAlerts: z.object({ alerts: z.array(AlertView) }),
  listWebhooks: z.object({ webhooks: z.array(WebhookView) }),
  listDeliveries: z.object({ deliveries: z.array(DeliveryView) }),
} satisfies Record<keyof typeof MonitorCommands | keyof typeof MonitorQueries, z.ZodType>;
export type MonitorResult<K extends keyof typeof MonitorResults> = z.infer<(typeof MonitorResults)[K]>;

const tenantParams = z.object({ tenant: TenantId });
const webhookParams = z.object({ tenant: TenantId, webhook: WebhookId });

export const alertRoutes = {
  listAlerts: {
    method: 'GET',
    path: '/api/v1/alerts',
    summary:
      'Alerts the caller can see, newest first: every alert for a platform admin, else those of their tenants ' +
      '(or of one, `tenant`), optionally only `firing` or `resolved` ones',
    access: 'signedIn',
    query: z.object({ tenant: TenantId.optional(), state: AlertState.optional(), limit: Limit(100) }).strict(),
    response: MonitorResults.listAlerts,
  },
  listWebhooks: {
    method: 'GET',
    path: '/api/v1/tenants/:tenant/webhooks',
    summary: "A tenant's webhooks (URLs, never secrets)",
    access: { tenant: 'admin' },
    params: tenantParams,
    response: MonitorResults.listWebhooks,
  },
  addWebhook: {
    method: 'POST',
    path: '/api/v1/tenants/:tenant/webhooks',
    summary:
      "Add a webhook the tenant's alerts are posted to (http or https; private addresses are refused unless the " +
      'installation allows them); answers its signing secret, shown this once',
    access: { tenant: 'admin' },
    params: tenantParams,
    body: MonitorCommands.addWebhook.omit({ tenantId: true }),
    status: 201,
    response: AddWebhookResult,
  },
  removeWebhook: {
    method: 'DELETE',
    path: '/api/v1/tenants/:tenant/webhooks/:webhook',
    summary: 'Remove a webhook; its pending deliveries and its delivery log go with it',
    access: { tenant: 'admin' },
    params: webhookParams,
    status: 204,
  },
  testWebhook: {
    method: 'POST',
    path: '/api/v1/tenants/:tenant/webhooks/:webhook/test',
    summary: 'Send the webhook a signed `ping`; answers the pending delivery (its attempts show in the delivery log)',
    access: { tenant: 'admin' },
    params: webhookParams,
    status: 202,
    response: DeliveryView,
  },
  listWebhookDeliveries: {
    method: 'GET',
    path: '/api/v1/tenants/:tenant/webhooks/:webhook/deliveries',
    summary: "A webhook's deliveries, newest first, with every attempt (status code or error, duration)",
    access: { tenant: 'admin' },
    params: webhookParams,
    query: z.object({ limit: Limit(50) }).strict(),
    response: MonitorResults.listDeliveries,
  },
} satisfies Record<string, ApiRoute>;
