import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { alertEvents, EnvelopeOf } from '@agentpod/contracts';
import { noticeFor, reminderDue } from './notice.ts';
import {
  type AlertEvent,
  type AlertSeries,
  alertSeries,
  decideAcknowledge,
  decideReminder,
  decideSilence,
} from './series.ts';

/* Notifications, pure: silences, the tenant's cap, reminders and acknowledgement over time. */

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
const HOUR = 60 * 60_000;

function fold(state: AlertSeries, events: AlertEvent[] | Error, now: Date): AlertSeries {
  assert.ok(Array.isArray(events), String(events));
  return events.reduce(
    (folded, event) =>
      alertSeries.evolve(folded, {
        id: 'e',
        type: event.type,
        aggregateId: 'alert_x',
        actor: { kind: 'system', id: 'monitor' },
        occurredAt: now.toISOString(),
        correlationId: 'c',
        causationId: 'c',
        version: 1,
        data: event.data,
      } as EnvelopeOf<typeof alertEvents>),
    state,
  );
}

const fired = (notify: boolean): AlertEvent => ({
  type: 'AlertFired',
  tenantId: 'acme',
  data: {
    alertId: 'alr_aaaaaaaaaaaaaaaaaaaaaaaa',
    tenantId: 'acme',
    kind: 'cpu',
    severity: 'warning',
    target: { tenantId: 'acme', podId: 'web', nodeId: null },
    summary: 'acme/web: cpu 95%',
    details: {},
    source: { context: 'monitor', eventId: 'rule:x', seq: T0 },
    ruleId: 'rul_aaaaaaaaaaaaaaaaaaaaaaaa',
    notify,
    suppressed: notify ? null : 'rate-limited',
  },
});
const ALERT = 'alr_aaaaaaaaaaaaaaaaaaaaaaaa';
const context = (now: Date, extra: { ruleSilencedUntil?: string | null; budget?: number } = {}) => ({
  now,
  ruleSilencedUntil: extra.ruleSilencedUntil ?? null,
  budget: extra.budget ?? 10,
});

describe('whether an alert event is notified', () => {
  test('silenced (the alert or its rule, until later than now), over the cap, or notified', () => {
    const now = at(0);
    assert.deepEqual(noticeFor(context(now), null), { notify: true, suppressed: null });
    assert.deepEqual(noticeFor(context(now), at(5).toISOString()), { notify: false, suppressed: 'silenced' });
    assert.deepEqual(noticeFor(context(now, { ruleSilencedUntil: at(1).toISOString() }), null).suppressed, 'silenced');
    assert.deepEqual(noticeFor(context(now), at(0).toISOString()).notify, true, 'a silence ends at its time');
    assert.deepEqual(noticeFor(context(now, { budget: 0 }), null), { notify: false, suppressed: 'rate-limited' });
  });
});

describe('reminders', () => {
  const renotify = HOUR;
  const firing = fold(alertSeries.initialState, [fired(true)], at(0));

  test('at most once per AGENTPOD_ALERT_RENOTIFY while firing, counted', () => {
    assert.deepEqual(decideReminder(firing, context(at(59)), renotify), []);
    const [first] = decideReminder(firing, context(at(60)), renotify);
    assert.deepEqual(first?.data, { alertId: ALERT, tenantId: 'acme', reminder: 1 });
    const reminded = fold(firing, first ? [first] : [], at(60));
    assert.equal(reminded.firing?.notifications, 2);
    assert.deepEqual(decideReminder(reminded, context(at(119)), renotify), []);
    assert.deepEqual(decideReminder(reminded, context(at(120)), renotify)[0]?.data, {
      alertId: ALERT,
      tenantId: 'acme',
      reminder: 2,
    });
  });

  test('none once acknowledged (recorded with who, once); none while silenced; at once when the silence ends', () => {
    const acked = fold(firing, decideAcknowledge(firing, ALERT, 'usr_olive'), at(10));
    assert.equal(acked.firing?.acknowledgedBy, 'usr_olive');
    assert.deepEqual(decideAcknowledge(acked, ALERT, 'usr_adam'), [], 'acknowledged already');
    assert.deepEqual(decideReminder(acked, context(at(600)), renotify), []);

    const silenced = fold(firing, decideSilence(firing, ALERT, at(180).toISOString(), 'usr_olive'), at(10));
    assert.deepEqual(decideReminder(silenced, context(at(120)), renotify), []);
    assert.equal(decideReminder(silenced, context(at(180)), renotify).length, 1);
    assert.ok(silenced.firing && firing.firing);
    assert.equal(reminderDue(silenced.firing, { now: at(120), ruleSilencedUntil: null }, renotify), false);
    assert.equal(
      reminderDue(firing.firing, { now: at(120), ruleSilencedUntil: at(121).toISOString() }, renotify),
      false,
      'a silenced rule sends no reminders either',
    );
  });

  test('an alert never notified (fired over the cap) is notified as soon as the cap allows', () => {
    const capped = fold(alertSeries.initialState, [fired(false)], at(0));
    assert.deepEqual(decideReminder(capped, context(at(1), { budget: 0 }), renotify), []);
    assert.equal(decideReminder(capped, context(at(1), { budget: 1 }), renotify).length, 1);
  });

  test('acknowledging or silencing an alert that is not firing is a conflict', () => {
    const error = decideAcknowledge(alertSeries.initialState, ALERT, 'usr_x');
    assert.ok(error instanceof Error);
    assert.equal((error as { code?: string }).code, 'conflict');
    assert.ok(decideSilence(firing, 'alr_bbbbbbbbbbbbbbbbbbbbbbbb', at(1).toISOString(), 'usr_x') instanceof Error);
  });
});
