import { rolloutEvents } from '@agentpod/contracts';
import type { Projection } from '@agentpod/kit';
import { jsonb, type PodsDb } from '../../db.ts';
import { eventsOf } from '../../events-of.ts';
import { evolveRollout, initialRolloutState, type RolloutState } from '../events.ts';

/** The rollout aggregate id `rollout_<rolloutId>` → the rollout id. */
const rolloutIdOf = (aggregateId: string): string | undefined => /^rollout_(rol_[a-z0-9]+)$/.exec(aggregateId)?.[1];

/**
 * `rollouts`: each rollout's state, folded by the aggregate's own `evolve` (times from `occurredAt`, so a replay
 * writes the same rows), with its tenant and status beside it for lists and for the runner to find running ones.
 */
export const rolloutsProjection: Projection<PodsDb> = {
  name: 'rollouts',
  context: 'pods',
  async apply(tx, stored) {
    for (const event of eventsOf(rolloutEvents, stored)) {
      const id = rolloutIdOf(event.aggregateId);
      if (!id) continue;
      const row = await tx.selectFrom('rollouts').select('state').where('id', '=', id).executeTakeFirst();
      const state = evolveRollout((row?.state as RolloutState | undefined) ?? initialRolloutState, event);
      if (state.status === 'none') continue;
      const values = {
        tenant_id: state.tenantId,
        status: state.status,
        state: jsonb(state),
        started_at: state.startedAt,
        updated_at: state.updatedAt,
      };
      await tx
        .insertInto('rollouts')
        .values({ id, ...values })
        .onConflict((c) => c.column('id').doUpdateSet(values))
        .execute();
    }
  },
};
