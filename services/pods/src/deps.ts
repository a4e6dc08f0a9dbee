import { AppError, type EventSchemas, type RequestMeta, systemActor } from '@agentpod/contracts';
import {
  AggregateRepository,
  type CommandOutcome,
  ConcurrencyError,
  type Decision,
  type EventStore,
  type ServiceRuntime,
} from '@agentpod/kit';
import type { PodsDb } from './db.ts';
import type { PodsEnv } from './env.ts';
import type { Lanes } from './lanes.ts';
import { nodeAggregate } from './node/events.ts';
import type { Heartbeats } from './node/liveness.ts';
import { nameAggregate } from './node-name/events.ts';
import { podAggregate } from './pod/events.ts';
import type { Keyring } from './secrets/cipher.ts';

export type PodsRuntime = ServiceRuntime<PodsDb, PodsEnv>;

export function createRepositories(store: EventStore) {
  return {
    nodes: new AggregateRepository(store, nodeAggregate),
    names: new AggregateRepository(store, nameAggregate),
    pods: new AggregateRepository(store, podAggregate),
  };
}
export type Repositories = ReturnType<typeof createRepositories>;

/** Everything a handler uses, built once at start-up. */
export type PodsDeps = {
  runtime: PodsRuntime;
  repos: Repositories;
  keyring: Keyring;
  heartbeats: Heartbeats;
  /** Commands on one aggregate from this process take turns (see lanes.ts). */
  lanes: Lanes;
};

/**
 * Load → decide → append on one aggregate, with the service's clock, retried on a lost race with fresh state.
 * Unlike the kit's `executeCommand`, a lost race keeps the cached state: it is a prefix of the log, so the next
 * load reads only what the winner appended. Node aggregates take every placement of their node and grow without
 * bound; reloading one from its first event after each lost race made N concurrent creations cost O(N² × events).
 * Within this process the commands on one aggregate take turns, so only replicas race.
 */
export async function execute<S, ES extends EventSchemas>(
  deps: PodsDeps,
  repository: AggregateRepository<S, ES>,
  aggregateId: string,
  meta: RequestMeta,
  decide: (state: S, now: Date) => Decision<ES>,
  attempts = 5,
): Promise<CommandOutcome<S>> {
  const { store, clock } = deps.runtime;
  const key = `${repository.definition.context}:${aggregateId}`;
  return deps.lanes.run(key, async () => {
    for (let attempt = 1; ; attempt++) {
      const loaded = await repository.load(aggregateId);
      const now = clock();
      const decision = decide(loaded.state, now);
      if (decision instanceof AppError) throw decision;
      if (decision.length === 0) return { ...loaded, events: [] };
      try {
        const { stored } = await store.append(repository.definition.context, aggregateId, decision, {
          expected: loaded.position,
          meta,
          now,
        });
        return { ...repository.applyAppended(aggregateId, loaded, stored), events: stored };
      } catch (error) {
        if (!(error instanceof ConcurrencyError)) throw error;
        if (attempt >= attempts) {
          throw new AppError('conflict', `${aggregateId} kept changing while this command ran; try again`, {
            cause: error,
          });
        }
      }
    }
  });
}

/** Read-your-writes: waits until the read models hold every event these commands stored. */
export async function settle(deps: PodsDeps, ...outcomes: (CommandOutcome<unknown> | undefined)[]): Promise<void> {
  const seq = Math.max(0, ...outcomes.flatMap((outcome) => outcome?.events.map((event) => event.seq) ?? []));
  if (seq > 0) await deps.runtime.caughtUp('pods', seq);
}

/** Meta for a call this service makes on its own behalf (to identity, or a compensation), within the caller's correlation. */
export const asSystem = (meta: RequestMeta): RequestMeta => ({
  actor: systemActor('pods'),
  correlationId: meta.correlationId,
  causationId: meta.causationId ?? meta.correlationId,
  ...(meta.tenantId ? { tenantId: meta.tenantId } : {}),
});
