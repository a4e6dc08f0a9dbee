import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALERT_KINDS, PlatformAlertRuleBody, TenantAlertRuleBody } from '@agentpod/contracts';
import { describeRule, issuesByField, kindsFor, type RuleFormFields, ruleBodyFromForm } from './rule-form.ts';

const blank: RuleFormFields = {
  name: '',
  kind: 'cpu',
  on: '',
  threshold: '',
  for: '',
  podId: '',
  nodeId: '',
  severity: '',
  emails: '',
};

describe('ruleBodyFromForm', () => {
  it('sends only what was filled in, so the monitor applies its defaults', () => {
    const { body, errors } = ruleBodyFromForm({ ...blank, threshold: '80' }, 'tenant');
    assert.deepEqual(errors, {});
    assert.deepEqual(body, { kind: 'cpu', threshold: 80 });
    assert.equal(TenantAlertRuleBody.safeParse(body).success, true);
  });

  it('trims, accepts "80 %", normalises the duration and splits emails on commas and spaces', () => {
    const { body } = ruleBodyFromForm(
      {
        ...blank,
        name: '  web CPU ',
        threshold: ' 80 % ',
        for: ' 10 M',
        podId: 'web',
        severity: 'critical',
        emails: 'a@example.com, b@example.com  c@example.com',
      },
      'tenant',
    );
    assert.deepEqual(body, {
      kind: 'cpu',
      name: 'web CPU',
      threshold: 80,
      for: '10m',
      podId: 'web',
      severity: 'critical',
      emails: ['a@example.com', 'b@example.com', 'c@example.com'],
    });
    assert.equal(TenantAlertRuleBody.safeParse(body).success, true);
  });

  it('says so when the threshold is not a number (before the schema is asked)', () => {
    assert.equal(ruleBodyFromForm({ ...blank, threshold: 'lots' }, 'tenant').errors.threshold, 'must be a number');
  });

  it('keeps a pod for tenant rules and a node and subject for platform rules only', () => {
    const fields = { ...blank, kind: 'node-unreachable' as const, on: 'node' as const, podId: 'web', nodeId: 'n1' };
    assert.deepEqual(ruleBodyFromForm(fields, 'platform').body, { kind: 'node-unreachable', on: 'node', nodeId: 'n1' });
    assert.deepEqual(ruleBodyFromForm({ ...fields, kind: 'pod-down' }, 'tenant').body, {
      kind: 'pod-down',
      podId: 'web',
    });
  });
});

describe('issuesByField', () => {
  it("maps the contract schema's issues onto the fields that caused them", () => {
    const missing = TenantAlertRuleBody.safeParse(ruleBodyFromForm(blank, 'tenant').body);
    assert.equal(missing.success, false);
    const errors = issuesByField(missing.error?.issues ?? []);
    assert.match(errors.threshold ?? '', /needs one/);

    const nodeKind = TenantAlertRuleBody.safeParse({ kind: 'disk', threshold: 90 });
    assert.match(issuesByField(nodeKind.error?.issues ?? []).kind ?? '', /platform rules/);

    const tooLong = PlatformAlertRuleBody.safeParse({ kind: 'node-unreachable', for: '48h' });
    assert.match(issuesByField(tooLong.error?.issues ?? []).for ?? '', /24h/);
  });

  it("keeps the first message of a field and puts path-less issues under ''", () => {
    assert.deepEqual(
      issuesByField([
        { path: ['threshold'], message: 'first' },
        { path: ['threshold'], message: 'second' },
        { path: [], message: 'whole form' },
      ]),
      { threshold: 'first', '': 'whole form' },
    );
  });
});

describe('kindsFor', () => {
  it('offers a tenant only the kinds that watch pods, a platform admin every kind', () => {
    const tenant = kindsFor('tenant', ALERT_KINDS);
    assert.ok(tenant.includes('cpu') && tenant.includes('restarts') && tenant.includes('pod-down'));
    assert.ok(!tenant.includes('disk') && !tenant.includes('node-unreachable'));
    assert.equal(kindsFor('platform', ALERT_KINDS).length, Object.keys(ALERT_KINDS).length);
  });
});

describe('describeRule', () => {
  const rule = {
    kind: 'cpu' as const,
    on: 'pod' as const,
    threshold: 80,
    for: '5m',
    podId: null,
    nodeId: null,
    tenantId: 'acme',
  };
  it('reads a rule in one line', () => {
    assert.equal(describeRule(rule), 'CPU above 80 % for 5m on every pod of the tenant');
    assert.equal(describeRule({ ...rule, podId: 'web' }), 'CPU above 80 % for 5m on pod web');
    assert.equal(
      describeRule({ ...rule, kind: 'restarts', threshold: 3, for: '15m' }),
      '3 restarts or more within 15m on every pod of the tenant',
    );
    assert.equal(
      describeRule({ ...rule, kind: 'node-unreachable', on: 'node', threshold: null, tenantId: null }),
      'Node unreachable for 5m on every node',
    );
    assert.equal(
      describeRule({ ...rule, kind: 'pod-failing', threshold: null, for: null, tenantId: null }),
      'Pod failing on every pod',
    );
  });
});
