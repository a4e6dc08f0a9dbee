import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AlertView, MAX_SILENCE_MS, SilenceDuration } from '@agentpod/contracts';
import {
  bySeverityThenNewest,
  changesAlerts,
  MAX_SILENCE_DAYS,
  parseSilence,
  SILENCE_PRESETS,
  silencedAt,
  targetOf,
  topFiring,
} from './alerts.ts';

function alert(id: string, fields: Partial<AlertView> = {}): AlertView {
  return {
    alertId: `alr_${id.padEnd(24, '0')}`,
    tenantId: 'acme',
    kind: 'cpu',
    severity: 'warning',
    state: 'firing',
    target: { tenantId: 'acme', podId: 'web', nodeId: 'n1' },
    summary: 'acme/web CPU above 80 % for 5m',
    details: {},
    firedAt: '2030-01-01T00:00:00.000Z',
    resolvedAt: null,
    ruleId: 'rul_builtin-pod-failing',
    acknowledgedBy: null,
    acknowledgedAt: null,
    silencedUntil: null,
    notifications: 0,
    lastNotifiedAt: null,
    ...fields,
  };
}

describe('topFiring', () => {
  it('keeps firing alerts only, the most severe first, then the newest, at most `count`', () => {
    const alerts = [
      alert('a', { severity: 'info', firedAt: '2030-01-01T00:00:05.000Z' }),
      alert('b', { severity: 'critical', firedAt: '2030-01-01T00:00:01.000Z' }),
      alert('c', { severity: 'warning', firedAt: '2030-01-01T00:00:02.000Z' }),
      alert('d', { severity: 'critical', firedAt: '2030-01-01T00:00:03.000Z' }),
      alert('e', { severity: 'critical', state: 'resolved', firedAt: '2030-01-01T00:00:09.000Z' }),
    ];
    assert.deepEqual(
      topFiring(alerts, 3).map((a) => a.alertId.slice(4, 5)),
      ['d', 'b', 'c'],
    );
    assert.equal(topFiring(alerts).length, 4);
    assert.equal([...alerts].sort(bySeverityThenNewest)[0]?.alertId.slice(4, 5), 'e');
  });
});

describe('targetOf', () => {
  it('links a pod alert to its pod, a node alert to its node, and names the rest', () => {
    assert.deepEqual(targetOf(alert('a')), { label: 'acme/web', href: '/pods/acme/web' });
    assert.deepEqual(targetOf(alert('a', { target: { tenantId: null, podId: null, nodeId: 'n 1' } })), {
      label: 'node n 1',
      href: '/nodes/n%201',
    });
    assert.deepEqual(targetOf(alert('a', { target: { tenantId: 'acme', podId: null, nodeId: null } })), {
      label: 'tenant acme',
      href: null,
    });
    assert.deepEqual(targetOf(alert('a', { target: { tenantId: null, podId: null, nodeId: null } })), {
      label: 'the platform',
      href: null,
    });
  });
});

describe('parseSilence', () => {
  it('takes what SilenceDuration takes, spaces and case aside', () => {
    for (const text of [...SILENCE_PRESETS, '90m', ' 3 H ', '30d', '1m']) {
      const parsed = parseSilence(text);
      assert.ok(parsed.ok, text);
      assert.equal(SilenceDuration.safeParse(parsed.value).success, true, text);
    }
  });
  it('refuses what SilenceDuration refuses, with words for people', () => {
    for (const text of ['', '0h', '1.5h', '2w', 'h', '-1d', '31d', '745h', '1234567m']) {
      const parsed = parseSilence(text);
      assert.equal(parsed.ok, false, text);
      if (!parsed.ok) assert.ok(parsed.message.length > 10);
      assert.equal(SilenceDuration.safeParse(text.trim().toLowerCase()).success, false, text);
    }
  });
  it("has the contract's upper bound", () => {
    assert.equal(MAX_SILENCE_DAYS * 86_400_000, MAX_SILENCE_MS);
  });
});

describe('alert helpers', () => {
  it('knows which live events change the list', () => {
    for (const type of ['AlertFired', 'AlertResolved', 'AlertAcknowledged', 'AlertSilenced', 'AlertRenotified'])
      assert.ok(changesAlerts(type), type);
    for (const type of ['WebhookAdded', 'DeliveryAttempted', 'EmailAttempted']) assert.ok(!changesAlerts(type), type);
  });
  it('is silenced only until the time has passed', () => {
    const now = Date.parse('2030-01-01T00:00:00.000Z');
    assert.equal(silencedAt('2030-01-01T01:00:00.000Z', now), true);
    assert.equal(silencedAt('2029-12-31T23:00:00.000Z', now), false);
    assert.equal(silencedAt(null, now), false);
  });
});
