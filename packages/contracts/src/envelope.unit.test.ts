import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EventEnvelope } from './envelope.ts';
import { newId } from './ids.ts';

const valid: EventEnvelope = {
  id: '0190a000-0000-7000-8000-000000000001',
  type: 'PodCreated',
  aggregateId: 'pod-1',
  tenantId: 'acme',
  actor: { kind: 'user', id: 'u-1' },
  occurredAt: '2026-01-01T00:00:00.000Z',
  correlationId: 'corr-1',
  causationId: 'corr-1',
  version: 1,
  data: { image: 'nginx' },
};

/** The paths of the issues `EventEnvelope` finds in `value`, or [] when it parses. */
const issues = (value: unknown): string[] => {
  const result = EventEnvelope.safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => i.path.join('.'));
};

describe('EventEnvelope', () => {
  test('accepts a complete envelope and keeps every field', () => {
    assert.deepEqual(EventEnvelope.parse(valid), valid);
  });

  test('tenantId is optional; data may be any JSON value', () => {
    const { tenantId: _, ...untenanted } = valid;
    assert.deepEqual(issues(untenanted), []);
    for (const data of [null, 0, 'text', [], { nested: { deep: [1, 2] } }])
      assert.deepEqual(issues({ ...valid, data }), []);
  });

  test('accepts the ids the system generates and times with an offset', () => {
    assert.deepEqual(issues({ ...valid, id: newId() }), []);
    assert.deepEqual(issues({ ...valid, occurredAt: '2026-01-01T02:00:00+02:00' }), []);
  });

  test('rejects each malformed field, by name', () => {
    const cases: [string, Partial<Record<keyof EventEnvelope, unknown>>][] = [
      ['id', { id: 'not-a-uuid' }],
      ['type', { type: 'podCreated' }],
      ['type', { type: 'Pod.Created' }],
      ['type', { type: 'P' }],
      ['aggregateId', { aggregateId: 'pods.evt.>' }],
      ['aggregateId', { aggregateId: '' }],
      ['actor.kind', { actor: { kind: 'root', id: 'x' } }],
      ['actor.id', { actor: { kind: 'user', id: '' } }],
      ['occurredAt', { occurredAt: '2026-01-01' }],
      ['occurredAt', { occurredAt: 'yesterday' }],
      ['correlationId', { correlationId: '' }],
      ['causationId', { causationId: '' }],
      ['version', { version: 0 }],
      ['version', { version: -1 }],
      ['version', { version: 1.5 }],
      ['version', { version: '1' }],
      ['tenantId', { tenantId: 42 }],
    ];
    for (const [path, change] of cases) {
      assert.deepEqual(issues({ ...valid, ...change }), [path], JSON.stringify(change));
    }
  });

  test('rejects what is not an envelope at all', () => {
    for (const value of [null, 'PodCreated', [], { hello: 'world' }]) {
      assert.notDeepEqual(issues(value), [], JSON.stringify(value));
    }
    const { correlationId: _, ...missing } = valid;
    assert.deepEqual(issues(missing), ['correlationId']);
  });
});
