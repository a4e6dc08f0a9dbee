import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  type AddWebhookResult,
  type AlertRuleView,
  type AlertView,
  commandSubject,
  type EmailDeliveryView,
  newId,
  podAggregateId,
  querySubject,
  systemActor,
  type WebhookPayload,
} from '@agentpod/contracts';
import { EMPTY_POSITION } from '@agentpod/kit';
import { type SmtpSink, startSmtpSink } from '@agentpod/kit/testing';
import type { z } from 'zod';
import { type Received, type Receiver, startReceiver } from '../testing/receiver.testing.ts';
import { eventually, person, type Stack, startStack } from '../testing/stack.testing.ts';
import { type PodsStandIn, standInPod, startPodsStandIn } from './pods-standin.testing.ts';

/*
 * Alert rules with real NATS, PostgreSQL, an HTTP receiver and an SMTP sink, under a clock the test moves: samples
 * written to the raw tables fire a threshold alert and resolve it; the alert is signed to webhooks (retried) and
 * emailed to the right people; reminders, acknowledgement and silences; another tenant can touch none of it.
 */

const NODE = 'nod_aaaaaaaaaaaaaaaaaaaaaaaa';
const cmd = (name: string) => commandSubject('monitor', name);
const qry = (name: string) => querySubject('monitor', name);

const owner = person('olive');
const admin = person('adam');
const member = person('mia');
const viewer = person('vera');
const stranger = person('gus');
const root = person('root', { platformAdmin: true });

type Added = z.infer<typeof AddWebhookResult>;

describe('monitor: alert rules (real NATS, PostgreSQL, HTTP, SMTP; a clock the test moves)', () => {
  let offset = 0;
  const clock = () => new Date(Date.now() + offset);
  let stack: Stack;
  let receiver: Receiver;
  let smtp: SmtpSink;
  let pods: PodsStandIn;
  let hook: Added;
  let cpuRule: AlertRuleView;
  let cpuAlert: AlertView;

  const payloadOf = (request: Received) => JSON.parse(request.body) as WebhookPayload;
  const webhookCalls = (type: string, alertId?: string) =>
    receiver.requests.filter((r) => {
      const payload = payloadOf(r);
      return payload.type === type && (alertId === undefined || payload.alert?.alertId === alertId);
    });
  const alerts = async (as = owner, filter: object = { tenantId: 'acme' }) =>
    (await stack.call<{ alerts: AlertView[] }>(qry('listAlerts'), filter, as)).alerts;

  /** CPU samples of acme/web, every 10 s for the minute before `end` (the fake now, or later). */
  async function cpuSamples(cpuPercent: number, end: Date) {
    const rows = Array.from({ length: 6 }, (_, index) => ({
      node_id: NODE,
      tenant_id: 'acme',
      pod_id: 'web',
      container_id: 'c-web',
      at: new Date(end.getTime() - 5_000 - index * 10_000),
      cpu_percent: cpuPercent,
      memory_bytes: 64 * 1024 * 1024,
      memory_limit_bytes: 256 * 1024 * 1024,
      net_rx: 0,
      net_tx: 0,
      blk_read: 0,
      blk_write: 0,
      restarts: 0,
    }));
    await stack.monitor.runtime.db
      .insertInto('pod_samples')
      .values(rows as never)
      .execute();
  }

  before(async () => {
    receiver = await startReceiver();
    smtp = await startSmtpSink();
    stack = await startStack(
      {
        AGENTPOD_WEBHOOK_ALLOW_PRIVATE: 'true',
        AGENTPOD_WEBHOOK_BACKOFF_BASE_MS: '50',
        AGENTPOD_WEBHOOK_POLL_MS: '200',
        AGENTPOD_ALERT_EVAL_SECONDS: '1',
        AGENTPOD_ALERT_RENOTIFY: '1h',
        AGENTPOD_SMTP_URL: smtp.url,
        AGENTPOD_PUBLIC_URL: 'https://console.example.com',
      },
      { clock },
    );
    pods = await startPodsStandIn(stack.nats.url);
    pods.pods = [
      standInPod('acme', 'web', NODE),
      standInPod('acme', 'api', NODE, { status: 'exited', message: 'exited with code 1' }),
    ];
    pods.nodes = [
      { id: NODE, name: 'edge-1', tenantId: null, status: 'online', lastSeenAt: clock().toISOString(), facts: null },
    ];
    for (const someone of [owner, admin, member, viewer, stranger, root]) {
      await stack.append('identity', someone.userId, 'UserRegistered', {
        userId: someone.userId,
        email: someone.email,
        platformAdmin: someone.platformAdmin,
      });
    }
    await stack.tenant('acme', { olive: 'owner', adam: 'admin', mia: 'member', vera: 'viewer' });
    await stack.tenant('globex', { gus: 'owner' });
    hook = await stack.call<Added>(cmd('addWebhook'), { tenantId: 'acme', url: `${receiver.url}/hooks/a` }, admin);
  });
  after(async () => {
    await pods?.stop();
    await stack?.stop();
    await receiver?.close();
    await smtp?.stop();
  });

  test('bad rules are invalid, naming what is wrong', async () => {
    const cases: [object, RegExp][] = [
      [{ tenantId: 'acme', kind: 'explode', threshold: 90 }, /kind/],
      [{ tenantId: 'acme', kind: 'cpu', threshold: 150 }, /threshold: must be a percentage above 0 and at most 100/],
      [{ tenantId: 'acme', kind: 'cpu', threshold: 90, for: '0m' }, /for: must be a number followed by m, h or d/],
      [{ tenantId: 'acme', kind: 'disk', threshold: 90 }, /platform rules/],
    ];
    for (const [data, pattern] of cases) {
      const refusal = await stack.refused(cmd('addAlertRule'), data, admin);
      assert.equal(refusal.code, 'invalid', JSON.stringify(data));
      assert.match(refusal.message, pattern, JSON.stringify(data));
    }
    const silence = await stack.refused(cmd('silenceAlert'), { alertId: `alr_${'a'.repeat(24)}`, for: '0h' }, admin);
    assert.equal(silence.code, 'invalid');
  });

  test('a tenant admin adds a rule; members see it; another tenant and lower roles cannot touch it', async () => {
    cpuRule = await stack.call<AlertRuleView>(
      cmd('addAlertRule'),
      { tenantId: 'acme', kind: 'cpu', threshold: 90, for: '1m', podId: 'web', name: 'web CPU' },
      admin,
    );
    assert.match(cpuRule.ruleId, /^rul_[a-z0-9]{24}$/);
    assert.deepEqual(
      [cpuRule.scope, cpuRule.on, cpuRule.severity, cpuRule.emails, cpuRule.builtIn],
      ['tenant', 'pod', 'warning', [], false],
    );
    const { rules } = await stack.call<{ rules: AlertRuleView[] }>(qry('listAlertRules'), { tenantId: 'acme' }, viewer);
    assert.deepEqual(
      rules.map((r) => r.ruleId),
      [cpuRule.ruleId],
    );
    const key = { tenantId: 'acme', ruleId: cpuRule.ruleId };
    const rule = { tenantId: 'acme', kind: 'cpu', threshold: 50 };
    assert.equal((await stack.refused(qry('listAlertRules'), { tenantId: 'acme' }, stranger)).code, 'not_found');
    assert.equal((await stack.refused(cmd('addAlertRule'), rule, stranger)).code, 'not_found');
    assert.equal((await stack.refused(cmd('removeAlertRule'), key, stranger)).code, 'not_found');
    const viaGlobex = { tenantId: 'globex', ruleId: cpuRule.ruleId };
    assert.equal((await stack.refused(cmd('removeAlertRule'), viaGlobex, stranger)).code, 'not_found');
    assert.equal((await stack.refused(cmd('addAlertRule'), rule, member)).code, 'forbidden');
    assert.equal((await stack.refused(cmd('removeAlertRule'), key, viewer)).code, 'forbidden');
    // Platform rules are the platform admins'.
    const platform = { kind: 'node-unreachable' };
    assert.equal((await stack.refused(cmd('addAlertRule'), platform, owner)).code, 'forbidden');
    assert.equal((await stack.refused(qry('listAlertRules'), {}, admin)).code, 'forbidden');
  });

  test('samples above the threshold for `for` fire one alert: a signed webhook (third attempt) and an email to the owners and admins', async () => {
    receiver.answerNext(500, 503);
    await cpuSamples(95, clock());
    const [first] = await eventually('alert.fired', () => {
      const found = webhookCalls('alert.fired');
      return found.length >= 3 ? found : undefined;
    });
    assert.ok(first);
    const payload = payloadOf(first);
    cpuAlert = payload.alert as AlertView;
    assert.deepEqual(
      [cpuAlert.kind, cpuAlert.ruleId, cpuAlert.state, cpuAlert.severity],
      ['cpu', cpuRule.ruleId, 'firing', 'warning'],
    );
    assert.deepEqual(cpuAlert.target, { tenantId: 'acme', podId: 'web', nodeId: NODE });
    assert.match(cpuAlert.summary, /^acme\/web: cpu 95% \(average over 1m; threshold 90%\)$/);
    assert.deepEqual(payload.rule, {
      ruleId: cpuRule.ruleId,
      name: 'web CPU',
      kind: 'cpu',
      scope: 'tenant',
      threshold: 90,
      for: '1m',
      builtIn: false,
    });
    const attempts = webhookCalls('alert.fired', cpuAlert.alertId);
    assert.equal(attempts.length, 3, 'failed twice, delivered the third time');
    assert.equal(new Set(attempts.map((r) => r.headers['x-agentpod-delivery'])).size, 1);
    for (const request of attempts) {
      const timestamp = String(request.headers['x-agentpod-timestamp']);
      const expected = createHmac('sha256', hook.secret).update(`${timestamp}.${request.body}`).digest('hex');
      assert.equal(request.headers['x-agentpod-signature'], `sha256=${expected}`);
    }

    const mail = await smtp.next(owner.email);
    assert.deepEqual(mail.to.sort(), [admin.email, owner.email].sort(), 'owners and admins, not members or viewers');
    assert.match(mail.subject, /^\[AgentPod\] FIRING warning: acme\/web: cpu 95%/);
    assert.match(mail.text, new RegExp(`Alert: ${cpuAlert.alertId}`));
    assert.match(mail.text, /https:\/\/console\.example\.com\/alerts/);
    const emails = await eventually('the email logged', async () => {
      const { emails: list } = await stack.call<{ emails: EmailDeliveryView[] }>(
        qry('listAlertEmails'),
        { alertId: cpuAlert.alertId },
        viewer,
      );
      return list[0]?.status === 'sent' ? list : undefined;
    });
    assert.deepEqual(
      emails[0]?.log.map((a) => [a.attempt, a.outcome, a.recipients]),
      [[1, 'sent', 2]],
    );
    assert.equal(emails[0]?.audience, 'tenant-admins');

    // Evaluations go on: still one alert.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    assert.equal((await alerts()).filter((a) => a.ruleId === cpuRule.ruleId).length, 1);
  });

  test('an hour later, still firing and not acknowledged: one reminder', async () => {
    const later = new Date(clock().getTime() + 3_600_000);
    await cpuSamples(97, later);
    offset += 3_600_000;
    const [reminder] = await eventually('the reminder', () => {
      const found = webhookCalls('alert.fired', cpuAlert.alertId).filter((r) => payloadOf(r).reminder === 1);
      return found.length > 0 ? found : undefined;
    });
    assert.ok(reminder);
    const mail = await smtp.next(owner.email);
    assert.match(mail.subject, /^\[AgentPod\] STILL FIRING \(reminder 1\) warning:/);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal(
      webhookCalls('alert.fired', cpuAlert.alertId).filter((r) => payloadOf(r).reminder > 0).length,
      1,
      'not again within the hour',
    );
  });

  test('samples back to normal resolve it: alert.resolved and a RESOLVED email', async () => {
    const later = new Date(clock().getTime() + 60_000);
    await cpuSamples(10, later);
    offset += 60_000;
    const [resolved] = await eventually('alert.resolved', () => {
      const found = webhookCalls('alert.resolved', cpuAlert.alertId);
      return found.length > 0 ? found : undefined;
    });
    assert.equal(payloadOf(resolved as Received).alert?.state, 'resolved');
    assert.match((await smtp.next(admin.email)).subject, /^\[AgentPod\] RESOLVED warning:/);
    const [alert] = (await alerts()).filter((a) => a.alertId === cpuAlert.alertId);
    assert.equal(alert?.state, 'resolved');
    assert.equal(alert?.notifications, 3, 'fired, one reminder, resolved');
  });

  test('a pod down for `for` fires; another tenant cannot see, ack or silence it; a member acks and silences it', async () => {
    const rule = await stack.call<AlertRuleView>(
      cmd('addAlertRule'),
      { tenantId: 'acme', kind: 'pod-down', for: '1m', emails: ['oncall@example.com'] },
      owner,
    );
    // The evaluator sees acme/api down now; a minute later (by the clock) it has been down for `for`.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    assert.deepEqual(
      (await alerts()).filter((a) => a.ruleId === rule.ruleId),
      [],
      'not before `for`',
    );
    offset += 61_000;
    const down = await eventually('the pod-down alert', async () =>
      (await alerts()).find((a) => a.ruleId === rule.ruleId && a.state === 'firing'),
    );
    assert.equal(down.target.podId, 'api');
    assert.match(down.summary, /acme\/api: should run but is exited: exited with code 1/);
    const mail = await smtp.next('oncall@example.com');
    assert.deepEqual(mail.to, ['oncall@example.com'], "the rule's own recipients only");

    const key = { alertId: down.alertId };
    assert.deepEqual(await alerts(stranger, {}), [], 'another tenant sees none of it');
    assert.equal((await stack.refused(cmd('ackAlert'), key, stranger)).code, 'not_found');
    assert.equal((await stack.refused(cmd('silenceAlert'), { ...key, for: '2h' }, stranger)).code, 'not_found');
    assert.equal((await stack.refused(qry('listAlertEmails'), key, stranger)).code, 'not_found');
    assert.equal((await stack.refused(cmd('ackAlert'), key, viewer)).code, 'forbidden');

    const acked = await stack.call<AlertView>(cmd('ackAlert'), key, member);
    assert.equal(acked.acknowledgedBy, member.userId);
    assert.ok(acked.acknowledgedAt);
    const silenced = await stack.call<AlertView>(cmd('silenceAlert'), { ...key, for: '2h' }, member);
    assert.equal(Date.parse(silenced.silencedUntil ?? '') - Date.parse(clock().toISOString()) > 7_000_000, true);
    const events = await stack.rawStream('monitor');
    assert.ok(events.some((e) => e.includes('AlertAcknowledged') && e.includes(member.userId)));
    assert.ok(events.some((e) => e.includes('AlertSilenced') && e.includes(down.alertId)));

    // Removing the rule resolves its alert; silenced, nobody is told.
    const before = smtp.messages.length;
    await stack.call(cmd('removeAlertRule'), { tenantId: 'acme', ruleId: rule.ruleId }, admin);
    await eventually('resolved with its rule', async () =>
      (await alerts()).find((a) => a.alertId === down.alertId && a.state === 'resolved'),
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(smtp.messages.length, before, 'no email about a silenced alert');
  });

  test('a platform rule: node unreachable, emailed to the platform admins, invisible to tenants', async () => {
    const rule = await stack.call<AlertRuleView>(cmd('addAlertRule'), { kind: 'node-unreachable', for: '5m' }, root);
    assert.equal(rule.scope, 'platform');
    const lastSeen = new Date(clock().getTime() - 6 * 60_000).toISOString();
    pods.nodes = [
      { id: NODE, name: 'edge-1', tenantId: null, status: 'unreachable', lastSeenAt: lastSeen, facts: null },
    ];
    const alert = await eventually('node-unreachable', async () =>
      (await alerts(root, {})).find((a) => a.ruleId === rule.ruleId),
    );
    assert.equal(alert.tenantId, null);
    assert.match(alert.summary, /^node edge-1: unreachable, last seen/);
    const mail = await smtp.next(root.email);
    assert.deepEqual(mail.to, [root.email]);
    assert.equal(
      (await alerts(owner, {})).some((a) => a.alertId === alert.alertId),
      false,
    );
    assert.equal((await stack.refused(cmd('ackAlert'), { alertId: alert.alertId }, owner)).code, 'not_found');
    const { rules } = await stack.call<{ rules: AlertRuleView[] }>(qry('listAlertRules'), {}, root);
    assert.deepEqual(
      rules.map((r) => [r.ruleId, r.builtIn]),
      [
        ['rul_builtin-pod-failing', true],
        [rule.ruleId, false],
      ],
    );
    assert.equal(
      (await stack.refused(cmd('removeAlertRule'), { ruleId: 'rul_builtin-pod-failing' }, root)).code,
      'conflict',
    );
  });

  test("restarts: Docker's (from the samples) and the reconciler's recoveries count together within the window", async () => {
    const rule = await stack.call<AlertRuleView>(
      cmd('addAlertRule'),
      { tenantId: 'acme', kind: 'restarts', threshold: 2, for: '10m', podId: 'api', emails: ['restarts@example.com'] },
      admin,
    );
    const now = clock();
    const sample = (restarts: number, secondsAgo: number) => ({
      node_id: NODE,
      tenant_id: 'acme',
      pod_id: 'api',
      container_id: 'c-api',
      at: new Date(now.getTime() - secondsAgo * 1_000),
      cpu_percent: 1,
      memory_bytes: 1,
      memory_limit_bytes: null,
      net_rx: 0,
      net_tx: 0,
      blk_read: 0,
      blk_write: 0,
      restarts,
    });
    // Outside the window: not counted. Inside: 3 → 4 is one Docker restart.
    const rows = [sample(0, 900), sample(3, 300), sample(4, 60)];
    await stack.monitor.runtime.db
      .insertInto('pod_samples')
      .values(rows as never)
      .execute();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal(
      (await alerts()).some((a) => a.ruleId === rule.ruleId),
      false,
      'one restart is below 2',
    );
    // Silenced about acme/api: the alert will fire and show, and tell nobody.
    const silenced = await stack.call<AlertRuleView>(
      cmd('silenceAlertRule'),
      { tenantId: 'acme', ruleId: rule.ruleId, for: '1h', podId: 'api' },
      admin,
    );
    assert.deepEqual(
      silenced.silences.map((x) => x.target),
      [{ tenantId: 'acme', podId: 'api', nodeId: null }],
    );
    const wrong = { tenantId: 'acme', ruleId: rule.ruleId, for: '1h', nodeId: NODE };
    assert.equal((await stack.refused(cmd('silenceAlertRule'), wrong, admin)).code, 'invalid');
    const whole = { tenantId: 'acme', ruleId: rule.ruleId, for: '1h' };
    assert.equal((await stack.refused(cmd('silenceAlertRule'), whole, member)).code, 'forbidden');
    await stack.monitor.runtime.store.append(
      'reconciler',
      podAggregateId('acme', 'api'),
      [
        {
          type: 'PodActionSucceeded',
          tenantId: 'acme',
          data: {
            tenantId: 'acme',
            podId: 'api',
            nodeId: NODE,
            generation: 1,
            action: 'restart',
            containerId: 'c-api',
            recovery: { reason: 'crash', attempt: 1 },
          },
        },
      ],
      { expected: EMPTY_POSITION, meta: { actor: systemActor('reconciler'), correlationId: newId() }, now: clock() },
    );
    const alert = await eventually('the restarts alert', async () =>
      (await alerts()).find((a) => a.ruleId === rule.ruleId),
    );
    assert.equal(alert.summary, 'acme/api: 2 restarts in 10m (threshold 2)');
    assert.equal(alert.notifications, 0, 'silenced: recorded, not told');
    const { emails } = await stack.call<{ emails: EmailDeliveryView[] }>(
      qry('listAlertEmails'),
      { alertId: alert.alertId },
      owner,
    );
    assert.deepEqual(emails, []);
    assert.ok((await stack.rawStream('monitor')).some((e) => e.includes(alert.alertId) && e.includes('"silenced"')));
  });

  test('replaying the read models rebuilds rules, alerts, notices and email logs identically', async () => {
    const report = await stack.monitor.runtime.replay({ swap: true, compare: true });
    assert.equal(report.identical, true, JSON.stringify(report.comparison?.filter((t) => t.onlyLive || t.onlyRebuilt)));
    const { rules } = await stack.call<{ rules: AlertRuleView[] }>(qry('listAlertRules'), { tenantId: 'acme' }, owner);
    assert.deepEqual(
      rules.map((r) => r.kind),
      ['cpu', 'restarts'],
      'the removed pod-down rule stays removed',
    );
  });
});

describe('monitor: alert emails without an SMTP server', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
    await stack.tenant('acme', { olive: 'owner' });
  });
  after(() => stack?.stop());

  test('the built-in pod-failing alert is logged as skipped, not sent', async () => {
    await stack.append(
      'reconciler',
      podAggregateId('acme', 'web'),
      'PodFailing',
      {
        tenantId: 'acme',
        podId: 'web',
        nodeId: NODE,
        generation: 1,
        reason: 'crash-loop',
        failures: 3,
        exitCode: 1,
        lastError: null,
        summary: 'exited with code 1 3 times in a row',
      },
      'acme',
    );
    const alert = await eventually('the alert', async () => {
      const { alerts } = await stack.call<{ alerts: AlertView[] }>(qry('listAlerts'), { tenantId: 'acme' }, owner);
      return alerts[0];
    });
    assert.equal(alert.ruleId, 'rul_builtin-pod-failing');
    const [email] = await eventually('the email logged', async () => {
      const { emails } = await stack.call<{ emails: EmailDeliveryView[] }>(
        qry('listAlertEmails'),
        { alertId: alert.alertId },
        owner,
      );
      return emails[0]?.status === 'skipped' ? emails : undefined;
    });
    assert.equal(email?.audience, 'tenant-admins');
    assert.match(email?.log[0]?.error ?? '', /no SMTP server is configured \(AGENTPOD_SMTP_URL\)/);
  });
});
