import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { alertEvents, type EnvelopeOf } from '@agentpod/contracts';
import { alertIdFor, deliveryIdFor, derivedEventId } from '../ids.ts';
import { type AlertCause, type AlertEvent, type AlertSeries, alertSeries, decideAlert } from './series.ts';

const NODE = 'nod_aaaaaaaaaaaaaaaaaaaaaaaa';
const target = { tenantId: 'acme', podId: 'web', nodeId: NODE };

function envelope<T extends AlertCause['type']>(type: T, id: string, data: object): AlertCause {
  return {
    id,
    type,
    aggregateId: 'pod_acme_web',
    tenantId: 'acme',
    actor: { kind: 'system', id: 'reconciler' },
    occurredAt: '2026-01-01T00:00:00.000Z',
    correlationId: id,
    causationId: id,
    version: 1,
    data: { ...target, generation: 2, ...data },
  } as AlertCause;
}

const failing = (id: string) =>
  envelope('PodFailing', id, {
    reason: 'crash-loop',
    failures: 3,
    exitCode: 1,
    lastError: null,
    summary: 'exited with code 1 3 times in a row; next try in 4 s',
  });
const recovered = (id: string) => envelope('PodRecovered', id, {});

/** Folds decided events as the log would. */
function fold(state: AlertSeries, events: AlertEvent[]): AlertSeries {
  return events.reduce((folded, event) => {
    const stored = {
      ...failing('stored'),
      aggregateId: 'alert_pod-failing_acme_web',
      type: event.type,
      data: event.data,
    };
    return alertSeries.evolve(folded, stored as EnvelopeOf<typeof alertEvents>);
  }, state);
}

const alertIdOf = (event: AlertEvent | undefined): string => {
  assert.ok(event, 'an event was decided');
  return event.data.alertId;
};

describe('an alert series decides from the reconciler', () => {
  const empty = alertSeries.initialState;

  test('PodFailing fires a critical pod-failing alert whose id derives from the event', () => {
    const [fired] = decideAlert(failing('e1'), 10, empty);
    assert.equal(fired?.type, 'AlertFired');
    const data = fired?.data as {
      alertId: string;
      severity: string;
      summary: string;
      target: unknown;
      details: unknown;
    };
    assert.equal(data.alertId, alertIdFor('e1'));
    assert.equal(data.severity, 'critical');
    assert.equal(data.summary, 'acme/web is failing: exited with code 1 3 times in a row; next try in 4 s');
    assert.deepEqual(data.target, target);
    assert.deepEqual(data.details, { reason: 'crash-loop', failures: 3, exitCode: 1, lastError: null, generation: 2 });
    assert.equal(alertEvents.AlertFired.safeParse(data).success, true);
    assert.equal(fired?.tenantId, 'acme');
  });

  test('a second PodFailing while firing is not a second alert; PodRecovered resolves the firing one', () => {
    const firing = fold(empty, decideAlert(failing('e1'), 10, empty));
    assert.deepEqual(decideAlert(failing('e2'), 11, firing), []);
    const [resolved] = decideAlert(recovered('e3'), 12, firing);
    assert.equal(resolved?.type, 'AlertResolved');
    assert.equal(alertIdOf(resolved), alertIdFor('e1'));
    const calm = fold(firing, resolved ? [resolved] : []);
    assert.equal(calm.firing, null);
    assert.deepEqual(decideAlert(recovered('e4'), 13, calm), [], 'nothing to resolve');
    const [again] = decideAlert(failing('e5'), 14, calm);
    assert.equal(alertIdOf(again), alertIdFor('e5'), 'a new episode, a new alert');
  });

  test('an event at or before the last one acted on changes nothing (redelivery, reading again from the start)', () => {
    const firing = fold(empty, decideAlert(failing('e1'), 10, empty));
    const calm = fold(firing, decideAlert(recovered('e3'), 12, firing));
    assert.deepEqual(decideAlert(failing('e1'), 10, calm), []);
    assert.deepEqual(decideAlert(recovered('e3'), 12, calm), []);
    assert.deepEqual(decideAlert(failing('e0'), 9, calm), []);
  });
});

describe('derived ids', () => {
  test('the same cause gives the same id; another cause another', () => {
    assert.equal(alertIdFor('e1'), alertIdFor('e1'));
    assert.notEqual(alertIdFor('e1'), alertIdFor('e2'));
    assert.match(alertIdFor('e1'), /^alr_[0-9a-f]{24}$/);
    assert.match(deliveryIdFor('e1', 'whk_a'), /^dlv_[0-9a-f]{24}$/);
    assert.notEqual(deliveryIdFor('e1', 'whk_a'), deliveryIdFor('e1', 'whk_b'));
  });

  test('derived event ids are UUIDs (version 8) the envelope accepts', () => {
    const id = derivedEventId('dlv_x', '1');
    assert.equal(id, derivedEventId('dlv_x', '1'));
    assert.notEqual(id, derivedEventId('dlv_x', '2'));
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
