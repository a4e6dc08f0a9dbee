import { commandSubject, querySubject } from '@agentpod/contracts';
import type { RouteHandlers } from './context.ts';

type MigrateHandlers = Pick<RouteHandlers, 'discoverContainers' | 'adoptPod'>;

/*
 * Migration onto AgentPod: the pods service decides which nodes the caller may look at or adopt on and asks their
 * agents, so both wait for nodes to answer (up to 20 s each, in parallel), more than a plain query.
 */
const NODES = { timeoutMs: 30_000 };
/** Describing on the nodes, claiming ports, recording, then the agent's take-over: a few round trips more. */
const ADOPT = { timeoutMs: 60_000 };

export const migrateHandlers: MigrateHandlers = {
  discoverContainers: ({ query, call }) =>
    call(querySubject('pods', 'discoverContainers'), query.node ? { node: query.node } : {}, NODES),

  adoptPod: ({ params, body, call }) =>
    call(commandSubject('pods', 'adoptPod'), { ...body, tenantId: params.tenant, podId: params.pod }, ADOPT),
};
