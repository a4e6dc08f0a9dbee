import { type RequestMeta, rolloutAggregateId, systemActor } from '@agentpod/contracts';
import { AggregateRepository, type CommandOutcome } from '@agentpod/kit';
import { execute, type PodsDeps } from '../deps.ts';
import { decideRollout, type RolloutCommand } from './decide.ts';
import { type RolloutState, rolloutAggregate, type Started } from './events.ts';

/** The pods service's dependencies, plus the rollout aggregates. */
export type RolloutDeps = PodsDeps & { rollouts: AggregateRepository<RolloutState, typeof rolloutAggregate.events> };

export const withRollouts = (deps: PodsDeps): RolloutDeps => ({
  ...deps,
  rollouts: new AggregateRepository(deps.runtime.store, rolloutAggregate),
});

/** Runs one command on a rollout (load, decide, append; retried on a lost race). */
export function onRollout(
  deps: RolloutDeps,
  rolloutId: string,
  meta: RequestMeta,
  command: RolloutCommand,
): Promise<CommandOutcome<RolloutState>> {
  return execute(deps, deps.rollouts, rolloutAggregateId(rolloutId), meta, (state) => decideRollout(command, state));
}

/**
 * What the runner's changes carry: the pods service acting for the rollout, in the correlation of the request that
 * started it, so the audit log ties every pod update of a rollout to the person who asked for it.
 */
export const runnerMeta = (rollout: Started, tenantId?: string): RequestMeta => ({
  actor: systemActor('pods'),
  correlationId: rollout.correlationId,
  causationId: rollout.causationId,
  ...(tenantId ? { tenantId } : {}),
});
