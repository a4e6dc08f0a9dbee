import { type EventSchemas, type RequestMeta, systemActor } from '@agentpod/contracts';
import {
  AggregateRepository,
  type CommandOutcome,
  type Decision,
  type EventStore,
  executeCommand,
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
 * The kit's load → decide → append (retried on a lost race, re-reading only what the winner appended), with the
 * service's clock. Node aggregates take every placement of their node, so within this process the commands on
 * one aggregate take turns: only replicas race.
 */
export function execute<S, ES extends EventSchemas>(
  deps: PodsDeps,
  repository: AggregateRepository<S, ES>,
  aggregateId: string,
  meta: RequestMeta,
  decide: (state: S, now: Date) => Decision<ES>,
  attempts = 5,
): Promise<CommandOutcome<S>> {
  const { store, clock } = deps.runtime;
  const key = `${repository.definition.context}:${aggregateId}`;
  return deps.lanes.run(key, () => executeCommand({ store, repository, aggregateId, meta, decide, clock, attempts }));
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
