import { alertRuleEvents, type EnvelopeOf } from '@agentpod/contracts';
import type { Transaction } from 'kysely';
import { targetKey } from '../alert/context.ts';
import { jsonb, type MonitorDb } from '../db.ts';

/* The `alert_rules` and `rule_silences` rows of the read model, from the rules' events. */

type Tx = Transaction<MonitorDb>;
export type RuleEnvelope = EnvelopeOf<typeof alertRuleEvents>;
export const ruleEventTypes = new Set(Object.keys(alertRuleEvents));

export async function applyRuleEvent(tx: Tx, event: RuleEnvelope): Promise<void> {
  switch (event.type) {
    case 'AlertRuleAdded':
      await tx
        .insertInto('alert_rules')
        .values({
          rule_id: event.data.ruleId,
          tenant_id: event.data.tenantId,
          kind: event.data.kind,
          definition: jsonb(event.data),
          created_by: event.actor.kind === 'token' ? (event.actor.onBehalfOf ?? event.actor.id) : event.actor.id,
          created_at: event.occurredAt,
          removed_at: null,
        })
        .onConflict((c) => c.column('rule_id').doNothing())
        .execute();
      return;
    case 'AlertRuleRemoved':
      await tx
        .updateTable('alert_rules')
        .set({ removed_at: event.occurredAt })
        .where('rule_id', '=', event.data.ruleId)
        .execute();
      await tx.deleteFrom('rule_silences').where('rule_id', '=', event.data.ruleId).execute();
      return;
    case 'AlertRuleSilenced': {
      const { ruleId, target, until } = event.data;
      await tx
        .insertInto('rule_silences')
        .values({
          rule_id: ruleId,
          target_key: target === null ? '*' : targetKey(target),
          target: target === null ? null : jsonb(target),
          until,
        })
        .onConflict((c) => c.columns(['rule_id', 'target_key']).doUpdateSet({ until }))
        .execute();
      return;
    }
    default: {
      const unknown: never = event;
      throw new Error(`unhandled rule event ${(unknown as { type: string }).type}`);
    }
  }
}
