import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AlertRuleView, AlertView } from '@agentpod/contracts';
import { useFakeGateway } from '../test/fake-gateway.ts';

/* `alert-rule` and `alerts ack|silence` against a stand-in gateway: what is sent, what is printed, the exit code. */

const RULE = `rul_${'a'.repeat(24)}`;
const ALERT = `alr_${'c'.repeat(24)}`;
const rule: AlertRuleView = {
  ruleId: RULE,
  tenantId: 'acme',
  name: null,
  kind: 'cpu',
  on: 'pod',
  threshold: 90,
  for: '5m',
  podId: 'web',
  nodeId: null,
  emails: ['ops@example.com'],
  severity: 'warning',
  scope: 'tenant',
  builtIn: false,
  silences: [],
  createdAt: '2026-01-01T00:00:00.000Z',
};
const alert: AlertView = {
  alertId: ALERT,
  tenantId: 'acme',
  kind: 'cpu',
  severity: 'warning',
  state: 'firing',
  target: { tenantId: 'acme', podId: 'web', nodeId: null },
  summary: 'acme/web: cpu 95%',
  details: {},
  firedAt: '2026-01-01T00:00:00.000Z',
  resolvedAt: null,
  ruleId: RULE,
  acknowledgedBy: 'usr_mia00000000000000000',
  acknowledgedAt: '2026-01-01T00:01:00.000Z',
  silencedUntil: null,
  notifications: 1,
  lastNotifiedAt: '2026-01-01T00:00:00.000Z',
};

describe('agentpod alert-rule and alerts ack/silence against a stand-in gateway', () => {
  const suite = useFakeGateway();
  const { cli } = suite;

  test('alert-rule add --tenant sends the rule to the tenant route, a number threshold, every --email', async () => {
    suite.gateway.on('POST /api/v1/tenants/acme/alert-rules', () => ({ status: 201, body: rule }));
    const args = ['--tenant', 'acme', '--kind', 'cpu', '--threshold', '90', '--for', '5m', '--pod', 'web'];
    const result = await cli('alert-rule', 'add', ...args, '--email', 'Ops@Example.com', '--email', 'b@example.com');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(suite.gateway.requests[0]?.body, {
      kind: 'cpu',
      threshold: 90,
      for: '5m',
      podId: 'web',
      emails: ['ops@example.com', 'b@example.com'],
    });
    assert.match(result.stdout, new RegExp(`^id +${RULE}\\n`));
  });

  test('without --tenant: the platform routes; list and rm print and exit 0', async () => {
    suite.gateway.on('GET /api/v1/alert-rules', () => ({ status: 200, body: { rules: [rule] } }));
    suite.gateway.on(`DELETE /api/v1/alert-rules/${RULE}`, () => ({ status: 204 }));
    const list = await cli('alert-rule', 'list', '--json');
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout), { rules: [rule] });
    const table = await cli('alert-rule', 'list');
    assert.match(table.stdout.split('\n')[1] ?? '', new RegExp(`^${RULE} +cpu +90 +5m +web +warning +ops@example.com`));
    const removed = await cli('alert-rule', 'rm', RULE);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, `removed alert rule ${RULE}\n`);
  });

  test('bad input fails locally (exit 2, nothing sent): unknown kind, threshold out of range or not a number, for=0', async () => {
    const cases: [string[], RegExp][] = [
      [['--kind', 'explode', '--threshold', '1'], /invalid --kind/],
      [['--kind', 'cpu', '--threshold', '150'], /invalid --threshold: must be a percentage/],
      [['--kind', 'cpu', '--threshold', 'lots'], /invalid --threshold: "lots" is not a number/],
      [['--kind', 'cpu', '--threshold', '90', '--for', '0m'], /invalid --for/],
      [['--kind', 'cpu', '--threshold', '90', '--email', 'nope'], /invalid --email/],
    ];
    for (const [args, pattern] of cases) {
      const result = await cli('alert-rule', 'add', '--tenant', 'acme', ...args);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, pattern, args.join(' '));
    }
    assert.equal(suite.gateway.requests.length, 0);
  });

  test('a refusal of another tenant is "not found" (exit 4)', async () => {
    suite.gateway.on('POST /api/v1/tenants/globex/alert-rules', () => ({
      status: 404,
      body: { error: { code: 'not_found', message: 'tenant globex does not exist or you have no access to it' } },
    }));
    const result = await cli('alert-rule', 'add', '--tenant', 'globex', '--kind', 'pod-down');
    assert.equal(result.code, 4);
    assert.match(result.stderr, /no access/);
  });

  test('alerts ack and alerts silence --for post to the alert and print who acknowledged it', async () => {
    suite.gateway.on(`POST /api/v1/alerts/${ALERT}/ack`, () => ({ status: 200, body: alert }));
    suite.gateway.on(`POST /api/v1/alerts/${ALERT}/silence`, () => ({
      status: 200,
      body: { ...alert, silencedUntil: '2026-01-01T02:01:00.000Z' },
    }));
    const acked = await cli('alerts', 'ack', ALERT);
    assert.equal(acked.code, 0, acked.stderr);
    assert.match(acked.stdout, /acknowledged +by usr_mia0+ at 2026-01-01T00:01:00Z/);
    const silenced = await cli('alerts', 'silence', ALERT, '--for', '2h', '--json');
    assert.equal(silenced.code, 0, silenced.stderr);
    assert.deepEqual(suite.gateway.requests.at(-1)?.body, { for: '2h' });
    assert.equal(JSON.parse(silenced.stdout).silencedUntil, '2026-01-01T02:01:00.000Z');
    const bad = await cli('alerts', 'silence', ALERT, '--for', 'forever');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid --for/);
  });
});
