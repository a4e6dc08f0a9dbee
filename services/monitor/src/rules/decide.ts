import type { AlertDetails, AlertRuleDefinition, AlertSource, AlertTarget } from '@agentpod/contracts';
import { targetKey } from '../alert/context.ts';
import type { Notice } from '../alert/notice.ts';
import { type AlertEvent, type AlertSeries, resolutionNotice } from '../alert/series.ts';
import { alertIdFor } from '../ids.ts';
import type { Verdict } from './judge.ts';

/*
 * What one evaluation of a rule does to the alert series of one target, pure: a `firing` verdict fires an alert
 * unless one fires already; an `ok` verdict (or the target gone, or the rule removed) resolves the firing one;
 * `pending` does nothing. The evaluation's time (ms) is its source sequence: an evaluation at or before the last
 * one the series acted on (a new leader repeating it, a clock that stepped back) changes nothing. The alert id is
 * derived from the rule, the target and the time it fired, so repeating that evaluation gives the same id.
 */

export type RuleEvaluation = {
  rule: AlertRuleDefinition;
  target: AlertTarget;
  /** How people name the target: `acme/web`, the node's name. */
  label: string;
  verdict: Verdict;
  now: Date;
  notice: Notice;
};

const summaryOf = (evaluation: RuleEvaluation, what: string): string => `${evaluation.label}: ${what}`.slice(0, 1_024);

/** The series of one rule's alerts about one target. */
export const ruleSeriesId = (ruleId: string, target: AlertTarget): string => `alert_${ruleId}_${targetKey(target)}`;

/** The id of the evaluation as a source: unique per rule, target and time. */
export const evaluationId = (ruleId: string, target: AlertTarget, now: Date): string =>
  `rule:${ruleId}:${targetKey(target)}:${now.toISOString()}`;

export function decideRuleAlert(evaluation: RuleEvaluation, state: AlertSeries): AlertEvent[] {
  const { rule, target, verdict, now, notice } = evaluation;
  const seq = now.getTime();
  if (seq <= state.lastSourceSeq) return [];
  const eventId = evaluationId(rule.ruleId, target, now);
  const source: AlertSource = { context: 'monitor', eventId, seq };
  const tenant = target.tenantId ? { tenantId: target.tenantId } : {};
  if (verdict.verdict === 'firing' && !state.firing) {
    const details: AlertDetails = { value: verdict.value, threshold: rule.threshold, for: rule.for, on: rule.on };
    return [
      {
        type: 'AlertFired',
        ...tenant,
        data: {
          alertId: alertIdFor(eventId),
          tenantId: target.tenantId,
          kind: rule.kind,
          severity: rule.severity,
          target,
          summary: summaryOf(evaluation, verdict.reason),
          details,
          source,
          ruleId: rule.ruleId,
          ...notice,
        },
      },
    ];
  }
  if (verdict.verdict === 'ok' && state.firing) {
    const { firing } = state;
    return [
      {
        type: 'AlertResolved',
        ...tenant,
        data: {
          alertId: firing.alertId,
          tenantId: firing.tenantId,
          kind: firing.kind,
          target: firing.target,
          summary: summaryOf(evaluation, `resolved: ${verdict.reason}`),
          source,
          ruleId: firing.ruleId,
          ...resolutionNotice(firing, notice),
        },
      },
    ];
  }
  return [];
}
