import {
  type AlertRuleDefinition,
  type AlertTarget,
  AppError,
  alertRuleEvents,
  type EventOf,
} from '@agentpod/contracts';
import type { AggregateDefinition } from '@agentpod/kit';

/* An alert rule (`monitor.evt.rul_…`): added, silenced any number of times, removed. Pure. */

export type Rule = { status: 'none' } | { status: 'live' | 'removed'; rule: AlertRuleDefinition };

export type RuleEvent = EventOf<typeof alertRuleEvents>;

export const ruleAggregate: AggregateDefinition<Rule, typeof alertRuleEvents> = {
  context: 'monitor',
  events: alertRuleEvents,
  initialState: { status: 'none' },
  evolve(state, event) {
    switch (event.type) {
      case 'AlertRuleAdded':
        return { status: 'live', rule: event.data };
      case 'AlertRuleRemoved':
        return state.status === 'none' ? state : { ...state, status: 'removed' };
      case 'AlertRuleSilenced':
        return state;
      default: {
        const unknown: never = event;
        throw new Error(`unhandled rule event ${(unknown as { type: string }).type}`);
      }
    }
  },
};

const tenantOf = (tenantId: string | null): { tenantId?: string } => (tenantId ? { tenantId } : {});

export function decideAddRule(state: Rule, rule: AlertRuleDefinition): RuleEvent[] | AppError {
  if (state.status !== 'none') return new AppError('conflict', `alert rule ${rule.ruleId} exists already`);
  return [{ type: 'AlertRuleAdded', ...tenantOf(rule.tenantId), data: rule }];
}

/** A rule of another tenant (or a tenant's rule asked for as a platform one) is as absent as one never added. */
function live(state: Rule, tenantId: string | null, ruleId: string): AlertRuleDefinition | AppError {
  if (state.status !== 'live' || state.rule.tenantId !== tenantId) {
    const where = tenantId === null ? 'there is no platform alert rule' : `tenant ${tenantId} has no alert rule`;
    return new AppError('not_found', `${where} ${ruleId}`);
  }
  return state.rule;
}

export function decideRemoveRule(state: Rule, tenantId: string | null, ruleId: string): RuleEvent[] | AppError {
  const rule = live(state, tenantId, ruleId);
  if (rule instanceof AppError) return rule;
  return [{ type: 'AlertRuleRemoved', ...tenantOf(tenantId), data: { ruleId, tenantId } }];
}

/**
 * Silencing a rule until `until`: entirely (no target), or about one pod of a tenant rule or one node of a
 * platform node rule.
 */
export function decideSilenceRule(
  state: Rule,
  input: { tenantId: string | null; ruleId: string; target: AlertTarget | null; until: string; by: string },
): RuleEvent[] | AppError {
  const rule = live(state, input.tenantId, input.ruleId);
  if (rule instanceof AppError) return rule;
  const { target } = input;
  if (target?.podId && rule.on !== 'pod') {
    return new AppError('invalid', `rule ${rule.ruleId} watches nodes: name a node (nodeId), not a pod`);
  }
  if (target?.nodeId && rule.on !== 'node') {
    return new AppError('invalid', `rule ${rule.ruleId} watches pods: name a pod (podId), not a node`);
  }
  return [
    {
      type: 'AlertRuleSilenced',
      ...tenantOf(input.tenantId),
      data: { ruleId: input.ruleId, tenantId: input.tenantId, target, until: input.until, by: input.by },
    },
  ];
}
