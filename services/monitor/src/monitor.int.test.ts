import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  type AddWebhookResult,
  type AlertView,
  commandSubject,
  type DeliveryView,
  podAggregateId,
  querySubject,
  type WebhookPayload,
  type WebhookView,
} from '@agentpod/contracts';
import { sql } from 'kysely';
import type { z } from 'zod';
import { type Received, type Receiver, startReceiver } from './testing/receiver.testing.ts';
import { eventually, person, type Stack, startStack } from './testing/stack.testing.ts';

/*
 * The monitor with real NATS, a real PostgreSQL and a real HTTP receiver on 127.0.0.1: reconciler events become
 * alerts, alerts become signed webhook deliveries, failures are retried with backoff and logged, and neither a
 * redelivery nor a replay sends anything twice.
 */

const NODE = 'nod_aaaaaaaaaaaaaaaaaaaaaaaa';
const cmd = (name: string) => commandSubject('monitor', name);
const qry = (name: string) => querySubject('monitor', name);

const owner = person('olive');
const admin = person('adam');
const viewer = person('vera');
const stranger = person('gus');
const platformAdmin = person('root', { platformAdmin: true });

type Added = z.infer<typeof AddWebhookResult>;

describe('monitor: alerts and webhooks (real NATS, PostgreSQL, HTTP)', () => {
  let stack: Stack;
  let receiver: Receiver;
  let hook: Added;
  let firedAlertId: string;
  let globexHook: Added;

  const podFailing = (podId: string) =>
    stack.append(
      'reconciler',
      podAggregateId('acme', podId),
      'PodFailing',
      {
        tenantId: 'acme',
        podId,
        nodeId: NODE,
        generation: 1,
        reason: 'crash-loop',
        failures: 3,
        exitCode: 1,
        lastError: null,
        summary: 'exited with code 1 3 times in a row; next try in 4 s',
      },
      'acme',
    );
  const podRecovered = (podId: string) =>
    stack.append(
      'reconciler',
      podAggregateId('acme', podId),
      'PodRecovered',
      { tenantId: 'acme', podId, nodeId: NODE, generation: 1 },
      'acme',
    );
  const payloadOf = (request: Received) => JSON.parse(request.body) as WebhookPayload;
  const received = (type: string, podId: string) =>
    receiver.requests.filter((r) => {
      const payload = payloadOf(r);
      return payload.type === type && payload.alert?.target.podId === podId;
    });
  const deliveries = async (webhookId = hook.webhook.webhookId) =>
    (await stack.call<{ deliveries: DeliveryView[] }>(qry('listDeliveries'), { tenantId: 'acme', webhookId }, admin))
      .deliveries;

  before(async () => {
    receiver = await startReceiver();
    stack = await startStack({
      AGENTPOD_WEBHOOK_ALLOW_PRIVATE: 'true',
      AGENTPOD_WEBHOOK_BACKOFF_BASE_MS: '50',
      AGENTPOD_WEBHOOK_POLL_MS: '200',
    });
    await stack.tenant('acme', { olive: 'owner', adam: 'admin', vera: 'viewer' });
    await stack.tenant('globex', { gus: 'owner' });
  });
  after(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  test('malformed input is invalid, naming what is wrong', async () => {
    const url = `${receiver.url}/hooks/a`;
    const cases: [string, unknown, RegExp][] = [
      [cmd('addWebhook'), { tenantId: 'acme', url: 'ftp://example.com/x' }, /http:\/\/ or https:\/\//],
      [cmd('addWebhook'), { tenantId: 'acme', url: 'not a url' }, /absolute URL/],
      [cmd('addWebhook'), { tenantId: 'acme' }, /url/],
      [cmd('addWebhook'), { tenantId: 'acme', url, events: ['alert.exploded'] }, /events/],
      [cmd('addWebhook'), { tenantId: 'acme', url, secret: 'mine' }, /secret|unrecognized/i],
      [cmd('addWebhook'), { tenantId: 'Not A Tenant', url }, /tenantId/],
      [cmd('removeWebhook'), { tenantId: 'acme', webhookId: '../etc' }, /webhook id/],
      [qry('listAlerts'), { state: 'exploded' }, /state/],
      [qry('listAlerts'), { limit: 100_000 }, /limit/],
    ];
    for (const [subject, data, pattern] of cases) {
      const refusal = await stack.refused(subject, data, admin);
      assert.equal(refusal.code, 'invalid', JSON.stringify(data));
      assert.match(refusal.message, pattern, JSON.stringify(data));
    }
  });

  test('an admin adds a webhook: its secret is shown once, its URL to admins only', async () => {
    hook = await stack.call<Added>(cmd('addWebhook'), { tenantId: 'acme', url: `${receiver.url}/hooks/a` }, admin);
    assert.match(hook.secret, /^whsec_[A-Za-z0-9_-]{43}$/);
    assert.match(hook.webhook.webhookId, /^whk_/);
    assert.deepEqual(hook.webhook.events, ['alert.fired', 'alert.resolved']);
    const { webhooks } = await stack.call<{ webhooks: WebhookView[] }>(
      qry('listWebhooks'),
      { tenantId: 'acme' },
      owner,
    );
    assert.deepEqual(webhooks, [hook.webhook]);
    assert.equal(JSON.stringify(webhooks).includes('whsec_'), false);
  });

  test('a member of another tenant can neither list nor add nor touch them (not_found); a viewer is forbidden', async () => {
    const url = `${receiver.url}/hooks/evil`;
    assert.equal((await stack.refused(qry('listWebhooks'), { tenantId: 'acme' }, stranger)).code, 'not_found');
    assert.equal((await stack.refused(cmd('addWebhook'), { tenantId: 'acme', url }, stranger)).code, 'not_found');
    const key = { tenantId: 'acme', webhookId: hook.webhook.webhookId };
    assert.equal((await stack.refused(cmd('removeWebhook'), key, stranger)).code, 'not_found');
    assert.equal((await stack.refused(qry('listDeliveries'), key, stranger)).code, 'not_found');
    // Through their own tenant, another tenant's webhook does not exist either.
    const viaGlobex = { tenantId: 'globex', webhookId: hook.webhook.webhookId };
    assert.equal((await stack.refused(cmd('testWebhook'), viaGlobex, stranger)).code, 'not_found');
    assert.equal((await stack.refused(qry('listDeliveries'), viaGlobex, stranger)).code, 'not_found');
    assert.equal((await stack.refused(cmd('addWebhook'), { tenantId: 'acme', url }, viewer)).code, 'forbidden');
    assert.equal((await stack.refused(qry('listWebhooks'), { tenantId: 'acme' }, viewer)).code, 'forbidden');
    assert.equal((await stack.refused(qry('listAlerts'), { tenantId: 'acme' }, stranger)).code, 'not_found');
  });

  test('PodFailing → an alert fires and the receiver gets alert.fired, correctly signed', async () => {
    await podFailing('web');
    const [request] = await eventually('alert.fired for web', () => {
      const found = received('alert.fired', 'web');
      return found.length > 0 ? found : undefined;
    });
    assert.ok(request);
    const timestamp = String(request.headers['x-agentpod-timestamp']);
    const expected = createHmac('sha256', hook.secret).update(`${timestamp}.${request.body}`).digest('hex');
    assert.equal(request.headers['x-agentpod-signature'], `sha256=${expected}`);
    assert.ok(Math.abs(Number(timestamp) - Date.now() / 1000) < 300);
    assert.equal(request.headers['x-agentpod-event'], 'alert.fired');
    assert.equal(request.headers['content-type'], 'application/json');
    assert.equal(request.path, '/hooks/a');
    const payload = payloadOf(request);
    assert.equal(request.headers['x-agentpod-delivery'], payload.id);
    assert.equal(payload.tenantId, 'acme');
    assert.equal(payload.alert?.state, 'firing');
    assert.equal(payload.alert?.kind, 'pod-failing');
    assert.equal(payload.alert?.severity, 'critical');
    assert.deepEqual(payload.alert?.target, { tenantId: 'acme', podId: 'web', nodeId: NODE });
    assert.match(payload.alert?.summary ?? '', /^acme\/web is failing: exited with code 1/);
    firedAlertId = payload.alert?.alertId ?? '';

    const { alerts } = await stack.call<{ alerts: AlertView[] }>(qry('listAlerts'), { tenantId: 'acme' }, viewer);
    assert.deepEqual(
      alerts.map((a) => [a.alertId, a.state]),
      [[firedAlertId, 'firing']],
    );
    const [delivery] = await eventually('the delivery recorded', async () => {
      const list = await deliveries();
      return list[0]?.status === 'delivered' ? list : undefined;
    });
    assert.equal(delivery?.deliveryId, payload.id);
    assert.deepEqual(
      delivery?.log.map((a) => [a.attempt, a.statusCode, a.outcome]),
      [[1, 200, 'delivered']],
    );
  });

  test('a receiver that fails twice gets the third attempt; the log shows all three', async () => {
    receiver.answerNext(500, 503);
    await podFailing('api');
    const attempts = await eventually('three attempts', () => {
      const found = received('alert.fired', 'api');
      return found.length >= 3 ? found : undefined;
    });
    assert.equal(new Set(attempts.map((r) => r.headers['x-agentpod-delivery'])).size, 1, 'one delivery, retried');
    assert.equal(new Set(attempts.map((r) => r.body)).size, 1, 'the same body every time');
    const delivery = await eventually('the third attempt recorded', async () =>
      (await deliveries()).find(
        (d) => d.deliveryId === payloadOf(attempts[0] as Received).id && d.status === 'delivered',
      ),
    );
    assert.deepEqual(
      delivery.log.map((a) => [a.attempt, a.statusCode, a.outcome]),
      [
        [1, 500, 'retrying'],
        [2, 503, 'retrying'],
        [3, 200, 'delivered'],
      ],
    );
    assert.equal(delivery.attempts, 3);
    for (const attempt of delivery.log) assert.ok(attempt.durationMs >= 0);
    // Backoff: the second attempt waited at least the base (50 ms), the third at least twice that.
    const [first, second, third] = delivery.log.map((a) => Date.parse(a.at));
    assert.ok((second ?? 0) - (first ?? 0) >= 50 && (third ?? 0) - (second ?? 0) >= 100);
  });

  test('PodRecovered → the alert resolves and the receiver gets alert.resolved', async () => {
    await podRecovered('web');
    const [request] = await eventually('alert.resolved for web', () => {
      const found = received('alert.resolved', 'web');
      return found.length > 0 ? found : undefined;
    });
    const payload = payloadOf(request as Received);
    assert.equal(payload.alert?.alertId, firedAlertId);
    assert.equal(payload.alert?.state, 'resolved');
    assert.ok(payload.alert?.resolvedAt);
    const { alerts } = await stack.call<{ alerts: AlertView[] }>(
      qry('listAlerts'),
      { tenantId: 'acme', state: 'resolved' },
      viewer,
    );
    assert.deepEqual(
      alerts.map((a) => a.alertId),
      [firedAlertId],
    );
    const firing = await stack.call<{ alerts: AlertView[] }>(qry('listAlerts'), { state: 'firing' }, platformAdmin);
    assert.deepEqual(
      firing.alerts.map((a) => a.target.podId),
      ['api'],
    );
    const strangers = await stack.call<{ alerts: AlertView[] }>(qry('listAlerts'), {}, stranger);
    assert.deepEqual(strangers.alerts, []);
  });

  test('a test ping is signed and logged', async () => {
    const pending = await stack.call<DeliveryView>(
      cmd('testWebhook'),
      { tenantId: 'acme', webhookId: hook.webhook.webhookId },
      admin,
    );
    assert.equal(pending.type, 'ping');
    const request = await eventually('the ping', () =>
      receiver.requests.find((r) => r.headers['x-agentpod-delivery'] === pending.deliveryId),
    );
    assert.equal(request.headers['x-agentpod-event'], 'ping');
    assert.deepEqual(
      { ...payloadOf(request), createdAt: '' },
      { id: pending.deliveryId, type: 'ping', createdAt: '', tenantId: 'acme', alert: null, rule: null, reminder: 0 },
    );
    await eventually('the ping delivered', async () =>
      (await deliveries()).find((d) => d.deliveryId === pending.deliveryId && d.status === 'delivered'),
    );
  });

  test("a deleted tenant's webhooks are removed; a tenant re-created under its id keeps its own", async () => {
    const url = `${receiver.url}/hooks/globex`;
    const old = await stack.call<Added>(cmd('addWebhook'), { tenantId: 'globex', url }, stranger);
    await stack.append('tenants', 'globex', 'TenantDeleted', { podsDeleted: 0 }, 'globex');
    const { db } = stack.monitor.runtime;
    const webhooksOf = (tenantId: string) =>
      db.selectFrom('webhooks').select('webhook_id').where('tenant_id', '=', tenantId).execute();
    await eventually('the old webhook removed', async () =>
      (await webhooksOf('globex')).length === 0 ? true : undefined,
    );
    assert.ok(
      (await stack.rawStream('monitor')).some((m) => m.includes('WebhookRemoved') && m.includes(old.webhook.webhookId)),
    );
    await stack.tenant('globex', { gus: 'owner' });
    globexHook = await stack.call<Added>(cmd('addWebhook'), { tenantId: 'globex', url }, stranger);
    assert.deepEqual(
      (await webhooksOf('globex')).map((w) => w.webhook_id),
      [globexHook.webhook.webhookId],
    );
  });

  test('replaying the read models (and the alerter reading RECONCILER again from the start) sends nothing twice', async () => {
    const before = receiver.requests.length;
    const reactor = (name: string) =>
      stack.monitor.runtime.projectors.find((p) => p.status().projection === name)?.status();
    const alerter = () => reactor('alerter');
    const appliedBefore = alerter()?.applied ?? 0;
    const cleanedBefore = reactor('webhook_cleanup')?.applied ?? 0;
    const tenantEvents = (await stack.rawStream('tenants')).length;
    const report = await stack.monitor.runtime.replay({ swap: true, compare: true });
    assert.equal(report.identical, true, JSON.stringify(report.comparison));
    // A later alert goes out after everything the replay could have repeated: once it arrives, nothing else did.
    await podFailing('marker');
    await eventually('the marker alert', () => (received('alert.fired', 'marker').length > 0 ? true : undefined));
    // The replay dropped the alerter's checkpoint: it read the three earlier reconciler events again, then the marker.
    await eventually('the alerter to read RECONCILER again', () =>
      (alerter()?.applied ?? 0) - appliedBefore >= 4 ? true : undefined,
    );
    assert.equal((alerter()?.applied ?? 0) - appliedBefore, 4);
    // The tenant clean-up read TENANTS again too, and left the re-created tenant's webhook alone.
    await eventually('the clean-up to read TENANTS again', () =>
      (reactor('webhook_cleanup')?.applied ?? 0) - cleanedBefore >= tenantEvents ? true : undefined,
    );
    const { webhooks } = await stack.call<{ webhooks: WebhookView[] }>(
      qry('listWebhooks'),
      { tenantId: 'globex' },
      stranger,
    );
    assert.deepEqual(
      webhooks.map((w) => w.webhookId),
      [globexHook.webhook.webhookId],
    );
    const after = receiver.requests.slice(before);
    assert.deepEqual(
      after.map((r) => `${payloadOf(r).type} ${payloadOf(r).alert?.target.podId}`),
      ['alert.fired marker'],
    );
    const perDelivery = new Map<string, number>();
    for (const r of receiver.requests) {
      const id = String(r.headers['x-agentpod-delivery']);
      perDelivery.set(id, (perDelivery.get(id) ?? 0) + 1);
    }
    assert.deepEqual(
      [...perDelivery.values()].sort(),
      [1, 1, 1, 1, 3],
      'web fired, web resolved, ping, marker once each; api three attempts',
    );
    const { alerts } = await stack.call<{ alerts: AlertView[] }>(qry('listAlerts'), { tenantId: 'acme' }, owner);
    assert.equal(alerts.length, 3);
  });

  test('the secret (and the URL) never appear in clear in the stream or the tables', async () => {
    const messages = await stack.rawStream('monitor');
    assert.ok(messages.some((m) => m.includes('WebhookAdded')));
    for (const text of messages) {
      assert.equal(text.includes(hook.secret), false, 'secret in the stream');
      assert.equal(text.includes(hook.secret.slice('whsec_'.length)), false, 'secret in the stream');
      assert.equal(text.includes('/hooks/a'), false, 'URL in the stream');
    }
    const { db } = stack.monitor.runtime;
    for (const table of ['webhooks', 'deliveries', 'delivery_attempts', 'alerts']) {
      const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(table)} t`.execute(db);
      for (const { row } of rows.rows) {
        assert.equal(row.includes(hook.secret.slice('whsec_'.length)), false, `secret in ${table}`);
        assert.equal(row.includes('/hooks/a'), false, `URL in ${table}`);
      }
    }
  });

  test('removing a webhook removes its deliveries; it is gone for everyone', async () => {
    const key = { tenantId: 'acme', webhookId: hook.webhook.webhookId };
    assert.deepEqual(await stack.call(cmd('removeWebhook'), key, owner), { removed: true });
    const { webhooks } = await stack.call<{ webhooks: WebhookView[] }>(
      qry('listWebhooks'),
      { tenantId: 'acme' },
      admin,
    );
    assert.deepEqual(webhooks, []);
    assert.equal((await stack.refused(qry('listDeliveries'), key, admin)).code, 'not_found');
    assert.equal((await stack.refused(cmd('removeWebhook'), key, admin)).code, 'not_found');
  });
});

describe('monitor: webhooks to private addresses are refused by default', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
    await stack.tenant('acme', { adam: 'admin' });
  });
  after(() => stack?.stop());

  test('loopback, private and link-local targets get a clear invalid error', async () => {
    const cases: [string, RegExp][] = [
      ['http://127.0.0.1:8080/hook', /127\.0\.0\.1 is a loopback address.*AGENTPOD_WEBHOOK_ALLOW_PRIVATE=true/],
      ['http://10.20.30.40/hook', /10\.20\.30\.40 is a private address/],
      ['http://192.168.1.10/hook', /private/],
      ['http://169.254.169.254/latest/meta-data', /link-local/],
      ['http://[::1]:9000/', /::1 is a loopback address/],
      ['http://localhost:3000/', /localhost resolves to 127\.0\.0\.1/],
    ];
    for (const [url, pattern] of cases) {
      const refusal = await stack.refused(cmd('addWebhook'), { tenantId: 'acme', url }, admin);
      assert.equal(refusal.code, 'invalid', url);
      assert.match(refusal.message, pattern, url);
    }
    const { webhooks } = await stack.call<{ webhooks: WebhookView[] }>(
      qry('listWebhooks'),
      { tenantId: 'acme' },
      admin,
    );
    assert.deepEqual(webhooks, []);
  });
});
