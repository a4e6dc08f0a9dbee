import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AlertView, DeliveryView, WebhookView } from '@agentpod/contracts';
import { useFakeGateway } from '../test/fake-gateway.ts';

/* The webhook and alerts commands against a stand-in gateway: what is sent, what is printed, the exit code. */

const WEBHOOK = `whk_${'a'.repeat(24)}`;
const DELIVERY = `dlv_${'b'.repeat(24)}`;
const webhook: WebhookView = {
  webhookId: WEBHOOK,
  tenantId: 'acme',
  url: 'https://hooks.example.com/agentpod',
  events: ['alert.fired', 'alert.resolved'],
  createdAt: '2026-01-01T00:00:00.000Z',
};
const pending: DeliveryView = {
  deliveryId: DELIVERY,
  webhookId: WEBHOOK,
  tenantId: 'acme',
  type: 'ping',
  alertId: null,
  status: 'pending',
  attempts: 0,
  nextAttemptAt: '2026-01-01T00:00:01.000Z',
  createdAt: '2026-01-01T00:00:01.000Z',
  log: [],
};
const delivered: DeliveryView = {
  ...pending,
  status: 'delivered',
  attempts: 2,
  nextAttemptAt: null,
  log: [
    { attempt: 1, at: '2026-01-01T00:00:01.000Z', statusCode: 500, error: null, durationMs: 12, outcome: 'retrying' },
    { attempt: 2, at: '2026-01-01T00:00:02.000Z', statusCode: 200, error: null, durationMs: 9, outcome: 'delivered' },
  ],
};
const alert: AlertView = {
  alertId: `alr_${'c'.repeat(24)}`,
  tenantId: 'acme',
  kind: 'pod-failing',
  severity: 'critical',
  state: 'firing',
  target: { tenantId: 'acme', podId: 'web', nodeId: `nod_${'d'.repeat(24)}` },
  summary: 'acme/web is failing: exited with code 1 3 times in a row',
  details: { failures: 3 },
  firedAt: '2026-01-01T00:00:00.000Z',
  resolvedAt: null,
  ruleId: 'rul_builtin-pod-failing',
  acknowledgedBy: null,
  acknowledgedAt: null,
  silencedUntil: null,
  notifications: 1,
  lastNotifiedAt: '2026-01-01T00:00:00.000Z',
};

describe('agentpod webhook and alerts against a stand-in gateway', () => {
  const suite = useFakeGateway();
  const { cli } = suite;

  test('webhook add sends the URL and events and prints the secret once', async () => {
    suite.gateway.on('POST /api/v1/tenants/acme/webhooks', () => ({
      status: 201,
      body: { webhook, secret: 'whsec_s3cr3t' },
    }));
    const result = await cli('webhook', 'add', webhook.url, '--tenant', 'acme', '--events', 'alert.fired');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(suite.gateway.requests[0]?.body, { url: webhook.url, events: ['alert.fired'] });
    assert.match(result.stdout, /secret\s+whsec_s3cr3t\n/);
    assert.match(result.stdout, /shown only now/);
  });

  test('a bad URL or event fails locally: exit 2, nothing sent', async () => {
    const url = await cli('webhook', 'add', 'ftp://example.com/', '--tenant', 'acme');
    assert.equal(url.code, 2);
    assert.match(url.stderr, /^agentpod: invalid <url>: must be an http:\/\/ or https:\/\/ URL/);
    const events = await cli('webhook', 'add', webhook.url, '--tenant', 'acme', '--events', 'alert.exploded');
    assert.equal(events.code, 2);
    assert.match(events.stderr, /invalid --events/);
    assert.equal(suite.gateway.requests.length, 0);
  });

  test('webhook test sends the ping and waits for its first attempt; deliveries shows every attempt', async () => {
    suite.gateway.on(`POST /api/v1/tenants/acme/webhooks/${WEBHOOK}/test`, () => ({ status: 202, body: pending }));
    suite.gateway.on(`GET /api/v1/tenants/acme/webhooks/${WEBHOOK}/deliveries`, () => ({
      status: 200,
      body: { deliveries: [delivered] },
    }));
    const tested = await cli('webhook', 'test', WEBHOOK, '--tenant', 'acme');
    assert.equal(tested.code, 1, 'the first attempt failed');
    assert.equal(tested.stdout, `ping ${DELIVERY} not delivered: 500 (12 ms)\n`);
    const log = await cli('webhook', 'deliveries', WEBHOOK, '--tenant', 'acme');
    assert.equal(log.code, 0, log.stderr);
    assert.deepEqual(
      log.stdout
        .trim()
        .split('\n')
        .map((line) => line.split(/\s{2,}/)),
      [
        ['DELIVERY', 'TYPE', 'STATUS', 'ATTEMPT', 'AT', 'RESULT'],
        [DELIVERY, 'ping', 'delivered', '1', '2026-01-01T00:00:01Z', '500 (12 ms) retrying'],
        [DELIVERY, 'ping', 'delivered', '2', '2026-01-01T00:00:02Z', '200 (9 ms) delivered'],
      ],
    );
  });

  test('alerts list passes the filters and prints JSON with --json', async () => {
    suite.gateway.on('GET /api/v1/alerts', () => ({ status: 200, body: { alerts: [alert] } }));
    const result = await cli('alerts', 'list', '--tenant', 'acme', '--state', 'firing', '--json');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(suite.gateway.requests[0]?.query, { tenant: 'acme', state: 'firing', limit: '100' });
    assert.deepEqual(JSON.parse(result.stdout), { alerts: [alert] });
    const bad = await cli('alerts', 'list', '--state', 'burning');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid --state/);
  });
});
