import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EventEnvelope } from '@agentpod/contracts';
import { canSee, effectsOf, podKeyOf, redacted, sameOrigin } from './effects.ts';

const envelope = (type: string, aggregateId: string, data: unknown, tenantId?: string): EventEnvelope => ({
  id: '01900000-0000-7000-8000-000000000000',
  type,
  aggregateId,
  ...(tenantId ? { tenantId } : {}),
  actor: { kind: 'system', id: 'test' },
  occurredAt: '2025-01-01T00:00:00.000Z',
  correlationId: 'c',
  causationId: 'c',
  version: 1,
  data,
});

describe('what an event means for a console', () => {
  test('pod aggregates name their pod; anything else is not a pod', () => {
    assert.deepEqual(podKeyOf('pod_acme_web'), { tenantId: 'acme', podId: 'web' });
    assert.deepEqual(podKeyOf('pod_acme-2_web-1'), { tenantId: 'acme-2', podId: 'web-1' });
    for (const id of ['pod_acme', 'nod_abc', 'pod_acme_web_x', 'pod_A_web', 'acme']) {
      assert.equal(podKeyOf(id), undefined, id);
    }
  });

  test('pods and reconciler events refresh their pod and are shown; node events refresh the node', () => {
    const pod = { tenantId: 'acme', podId: 'web' };
    assert.deepEqual(effectsOf(envelope('PodStopped', 'pod_acme_web', {}, 'acme'), 'pods'), {
      pods: [pod],
      nodes: [],
      forward: true,
      rescope: false,
    });
    assert.deepEqual(effectsOf(envelope('PodActionSucceeded', 'pod_acme_web', {}, 'acme'), 'reconciler').pods, [pod]);
    const placed = effectsOf(envelope('PodPlaced', 'nod_abc', {}), 'pods');
    assert.deepEqual([placed.nodes, placed.forward], [['nod_abc'], false]);
  });

  test('agent observations refresh the pods they are about and are never shown one by one', () => {
    const changed = effectsOf(envelope('ContainerChanged', 'nod_abc', { tenantId: 'acme', podId: 'web' }), 'agent');
    assert.deepEqual([changed.pods, changed.forward], [[{ tenantId: 'acme', podId: 'web' }], false]);
    const containers = [
      { tenantId: 'acme', podId: 'web' },
      { tenantId: 'acme', podId: 'web' },
      { tenantId: 'globex', podId: 'api' },
      { tenantId: 'bad tenant', podId: 'x' },
    ];
    const inventory = effectsOf(envelope('InventoryReported', 'nod_abc', { containers }), 'agent');
    assert.deepEqual(inventory.pods, [
      { tenantId: 'acme', podId: 'web' },
      { tenantId: 'globex', podId: 'api' },
    ]);
    assert.deepEqual(inventory.nodes, ['nod_abc']);
    assert.deepEqual(effectsOf(envelope('NodeConnected', 'nod_abc', {}), 'agent').nodes, ['nod_abc']);
  });

  test('membership changes re-read the viewer’s tenants; identity events mean nothing to a console', () => {
    assert.equal(effectsOf(envelope('MemberRemoved', 'acme', {}, 'acme'), 'tenants').rescope, true);
    assert.equal(effectsOf(envelope('TenantRenamed', 'acme', {}, 'acme'), 'tenants').rescope, false);
    const session = effectsOf(envelope('SessionStarted', 'session-x', {}), 'identity');
    assert.deepEqual(session, { pods: [], nodes: [], forward: false, rescope: false });
  });

  test('secret-bearing fields never reach a browser, even encrypted', () => {
    const event = envelope('PodCreated', 'pod_acme_web', { podId: 'web', secrets: { A: {} }, accessToken: {} });
    assert.deepEqual(redacted(event).data, { podId: 'web', secrets: '[redacted]', accessToken: '[redacted]' });
  });

  test('scope: everything for a platform admin, else the viewer’s tenants; never an event without a tenant', () => {
    assert.ok(canSee('all', undefined));
    assert.ok(canSee(new Set(['acme']), 'acme'));
    assert.ok(!canSee(new Set(['acme']), 'globex'));
    assert.ok(!canSee(new Set(['acme']), undefined));
  });

  test('the live socket’s Origin must be the public URL or the address the browser used', () => {
    const publicUrl = 'https://agentpod.example.com';
    assert.ok(sameOrigin('https://agentpod.example.com', publicUrl, 'http://127.0.0.1:8080'));
    assert.ok(sameOrigin('http://localhost:8080', 'http://127.0.0.1:8080', 'http://localhost:8080'));
    assert.ok(!sameOrigin('https://evil.example', publicUrl, 'http://127.0.0.1:8080'));
    assert.ok(!sameOrigin(undefined, publicUrl, 'http://127.0.0.1:8080'));
    assert.ok(!sameOrigin('null', publicUrl, 'http://127.0.0.1:8080'));
  });
});
