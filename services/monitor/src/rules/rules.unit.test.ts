import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AlertRuleCommands,
  type AlertRuleDefinition,
  type alertEvents,
  type EnvelopeOf,
  ruleDefinition,
} from '@agentpod/contracts';
import fc from 'fast-check';
import { NOTIFY } from '../alert/notice.ts';
import { type AlertEvent, type AlertSeries, alertSeries } from '../alert/series.ts';
import { decideRuleAlert, type RuleEvaluation } from './decide.ts';
import { judge, type Observation, type Verdict } from './judge.ts';

/* Rule evaluation, pure: what a rule judges from an observation, and what that does to the alert series. */

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1_000);
const MIN = 60;

const cpuRule: AlertRuleDefinition = ruleDefinition('rul_aaaaaaaaaaaaaaaaaaaaaaaa', 'acme', {
  kind: 'cpu',
  threshold: 90,
  for: '5m',
});
const downRule = ruleDefinition('rul_bbbbbbbbbbbbbbbbbbbbbbbb', 'acme', { kind: 'pod-down', for: '2m' });
const restartsRule = ruleDefinition('rul_cccccccccccccccccccccccc', 'acme', { kind: 'restarts', threshold: 3 });
const target = { tenantId: 'acme', podId: 'web', nodeId: 'nod_aaaaaaaaaaaaaaaaaaaaaaaa' };

const level = (value: number, oldestSecondsAgo: number, now: Date): Observation => ({
  kind: 'level',
  value,
  oldest: new Date(now.getTime() - oldestSecondsAgo * 1_000),
  samples: 30,
});

/** Folds decided events as the log would (occurredAt = `now`). */
function fold(state: AlertSeries, events: AlertEvent[], now: Date): AlertSeries {
  return events.reduce((folded, event, index) => {
    const envelope = {
      id: `e-${now.getTime()}-${index}`,
      type: event.type,
      aggregateId: 'alert_series',
      actor: { kind: 'system', id: 'monitor' },
      occurredAt: now.toISOString(),
      correlationId: 'c',
      causationId: 'c',
      version: 1,
      data: event.data,
    };
    return alertSeries.evolve(folded, envelope as EnvelopeOf<typeof alertEvents>);
  }, state);
}

/** The data of a decided event, which must be there. */
function dataOf(event: AlertEvent | undefined): Record<string, unknown> {
  assert.ok(event, 'an event was decided');
  return event.data as Record<string, unknown>;
}

const evaluation = (rule: AlertRuleDefinition, verdict: Verdict, now: Date): RuleEvaluation => ({
  rule,
  target,
  label: 'acme/web',
  verdict,
  now,
  notice: NOTIFY,
});

describe('judging one observation', () => {
  const now = at(10 * MIN);

  test('a level fires only above the threshold and once the samples cover the window (average over `for`)', () => {
    const table: [Observation, Verdict['verdict']][] = [
      [level(95, 5 * MIN, now), 'firing'],
      [level(95, 4 * MIN, now), 'firing'], // oldest sample within the first quarter of the 5-minute window
      [level(95, 3 * MIN, now), 'pending'], // the pod has not been observed long enough
      [level(90, 5 * MIN, now), 'ok'], // at the threshold is not above it
      [level(20, 5 * MIN, now), 'ok'],
    ];
    for (const [observation, expected] of table) {
      assert.equal(judge(cpuRule, observation, now).verdict, expected, JSON.stringify(observation));
    }
    assert.match(judge(cpuRule, level(95.04, 300, now), now).reason, /^cpu 95% \(average over 5m; threshold 90%\)$/);
  });

  test('restarts fire at the threshold or more within the window', () => {
    assert.equal(judge(restartsRule, { kind: 'count', value: 2 }, now).verdict, 'ok');
    assert.equal(judge(restartsRule, { kind: 'count', value: 3 }, now).verdict, 'firing');
    assert.equal(restartsRule.for, '15m', 'the kind default');
  });

  test('a state fires once it has held for `for`; not active is ok', () => {
    const state = (active: boolean, sinceSecondsAgo: number | null): Observation => ({
      kind: 'state',
      active,
      since: sinceSecondsAgo === null ? null : new Date(now.getTime() - sinceSecondsAgo * 1_000),
      detail: 'should run but is exited',
    });
    assert.equal(judge(downRule, state(true, 2 * MIN), now).verdict, 'firing');
    assert.equal(judge(downRule, state(true, 119), now).verdict, 'pending');
    assert.equal(judge(downRule, state(true, null), now).verdict, 'pending');
    assert.equal(judge(downRule, state(false, null), now).verdict, 'ok');
  });
});

describe('deciding on the alert series', () => {
  const empty = alertSeries.initialState;
  const firing: Verdict = { verdict: 'firing', value: 95, reason: 'cpu 95%' };
  const ok: Verdict = { verdict: 'ok', value: 20, reason: 'cpu 20%' };

  test('fires once, stays one alert while firing, resolves it, and a new episode is a new alert', () => {
    const [fired] = decideRuleAlert(evaluation(cpuRule, firing, at(0)), empty);
    assert.equal(fired?.type, 'AlertFired');
    const data = fired?.data as { ruleId: string; kind: string; notify: boolean; summary: string; alertId: string };
    assert.deepEqual([data.ruleId, data.kind, data.notify], [cpuRule.ruleId, 'cpu', true]);
    assert.equal(data.summary, 'acme/web: cpu 95%');
    const state = fold(empty, fired ? [fired] : [], at(0));
    assert.deepEqual(decideRuleAlert(evaluation(cpuRule, firing, at(15)), state), [], 'no second alert');
    const [resolved] = decideRuleAlert(evaluation(cpuRule, ok, at(30)), state);
    assert.equal(resolved?.type, 'AlertResolved');
    assert.equal(dataOf(resolved).alertId, data.alertId);
    const calm = fold(state, resolved ? [resolved] : [], at(30));
    assert.deepEqual(decideRuleAlert(evaluation(cpuRule, ok, at(45)), calm), [], 'nothing to resolve');
    const [again] = decideRuleAlert(evaluation(cpuRule, firing, at(60)), calm);
    assert.notEqual(dataOf(again).alertId, data.alertId);
  });

  test('an evaluation at or before the last one acted on changes nothing (a new leader repeating it)', () => {
    const fired = decideRuleAlert(evaluation(cpuRule, firing, at(100)), empty);
    assert.deepEqual(decideRuleAlert(evaluation(cpuRule, firing, at(100)), empty), fired, 'the same ids again');
    const state = fold(empty, fired, at(100));
    assert.deepEqual(decideRuleAlert(evaluation(cpuRule, ok, at(100)), state), []);
    assert.deepEqual(decideRuleAlert(evaluation(cpuRule, ok, at(99)), state), []);
  });

  test('a silenced or capped firing is recorded, not notified; its resolution is not notified either', () => {
    const quiet = { ...evaluation(cpuRule, firing, at(0)), notice: { notify: false, suppressed: 'silenced' as const } };
    const fired = decideRuleAlert(quiet, empty);
    assert.equal(dataOf(fired[0]).notify, false);
    const state = fold(empty, fired, at(0));
    assert.equal(state.firing?.notifications, 0);
    const [resolved] = decideRuleAlert(evaluation(cpuRule, ok, at(60)), state);
    assert.deepEqual([dataOf(resolved).notify, dataOf(resolved).suppressed], [false, 'silenced']);
  });

  test('property: whatever the verdicts, alerts alternate fired/resolved, each fired on firing, resolved on ok', () => {
    const verdicts = fc.array(fc.constantFrom<Verdict['verdict']>('firing', 'pending', 'ok'), { maxLength: 60 });
    fc.assert(
      fc.property(verdicts, (sequence) => {
        let state = alertSeries.initialState;
        const log: string[] = [];
        sequence.forEach((verdict, index) => {
          const now = at(index * 15);
          const events = decideRuleAlert(evaluation(cpuRule, { verdict, value: 1, reason: verdict }, now), state);
          assert.ok(events.length <= 1);
          for (const event of events) {
            log.push(event.type);
            assert.equal(event.type === 'AlertFired' ? 'firing' : 'ok', verdict);
          }
          state = fold(state, events, now);
          // Repeating the same evaluation never adds anything.
          assert.deepEqual(
            decideRuleAlert(evaluation(cpuRule, { verdict, value: 1, reason: verdict }, now), state),
            [],
          );
        });
        for (const [index, type] of log.entries()) {
          assert.equal(type, index % 2 === 0 ? 'AlertFired' : 'AlertResolved');
        }
        assert.equal(state.firing !== null, log.at(-1) === 'AlertFired');
      }),
    );
  });
});

describe('rule input', () => {
  const parse = (input: object) => AlertRuleCommands.addAlertRule.safeParse(input);
  const problems = (input: object): string[] => {
    const result = parse(input);
    return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };

  test('a good tenant rule and a good platform rule pass, with defaults', () => {
    assert.equal(parse({ tenantId: 'acme', kind: 'cpu', threshold: 90, for: '5m', podId: 'web' }).success, true);
    assert.equal(parse({ kind: 'disk', threshold: 85 }).success, true);
    assert.equal(parse({ kind: 'node-unreachable', nodeId: 'nod_aaaaaaaaaaaaaaaaaaaaaaaa' }).success, true);
    assert.equal(parse({ kind: 'memory', on: 'node', threshold: 80, emails: ['Ops@Example.com'] }).success, true);
    const defaults = ruleDefinition('rul_x0000000', null, { kind: 'node-unreachable' });
    assert.deepEqual([defaults.on, defaults.for, defaults.severity], ['node', '5m', 'critical']);
  });

  test('bad input is refused, naming the field', () => {
    const table: [object, RegExp][] = [
      [{ tenantId: 'acme', kind: 'explode', threshold: 1 }, /^kind: /],
      [{ tenantId: 'acme', kind: 'cpu', threshold: 150 }, /^threshold: must be a percentage above 0 and at most 100$/],
      [{ tenantId: 'acme', kind: 'cpu', threshold: 0 }, /^threshold: /],
      [{ tenantId: 'acme', kind: 'cpu' }, /^threshold: a cpu rule needs one/],
      [{ tenantId: 'acme', kind: 'cpu', threshold: 90, for: '0m' }, /^for: must be a number followed by m, h or d/],
      [{ tenantId: 'acme', kind: 'cpu', threshold: 90, for: 0 }, /^for: /],
      [{ tenantId: 'acme', kind: 'cpu', threshold: 90, for: '2d' }, /^for: must be at most 24h$/],
      [{ tenantId: 'acme', kind: 'restarts', threshold: 2.5 }, /^threshold: must be a whole number/],
      [{ tenantId: 'acme', kind: 'pod-down', threshold: 3 }, /^threshold: a pod-down rule takes no threshold$/],
      [{ tenantId: 'acme', kind: 'disk', threshold: 90 }, /^kind: disk rules on nodes are platform rules/],
      [{ kind: 'cpu', threshold: 90, podId: 'web' }, /^podId: only a tenant rule/],
      [{ tenantId: 'acme', kind: 'cpu', threshold: 90, emails: ['not-an-address'] }, /^emails.0: /],
      [{ tenantId: 'acme', kind: 'cpu', threshold: 90, extra: true }, /unrecognized/i],
    ];
    for (const [input, pattern] of table) {
      const found = problems(input);
      assert.ok(
        found.some((problem) => pattern.test(problem)),
        `${JSON.stringify(input)}: ${found.join('; ')}`,
      );
    }
  });
});
