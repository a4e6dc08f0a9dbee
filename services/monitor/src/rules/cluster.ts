import { newId, querySubject, systemActor } from '@agentpod/contracts';
import { request } from '@agentpod/kit';
import { z } from 'zod';
import type { MonitorRuntime } from '../deps.ts';

/*
 * What the pods service says about every pod and node right now (`pods.qry.listPods`, `pods.qry.listNodes`, asked
 * as the monitor itself): the state rules (pod-down, pod-failing, health-failing, node-unreachable) and the CPU
 * limits the cpu rule measures pods against. Asked once per evaluation, and only when a rule needs it. Only the
 * fields the rules use are read (zod drops the rest), so a wider view does not break the monitor.
 */

export const ClusterPod = z.object({
  tenantId: z.string(),
  podId: z.string(),
  nodeId: z.string(),
  desired: z.enum(['running', 'stopped']),
  status: z.string(),
  message: z.string().nullable(),
  health: z.string(),
  spec: z.object({ limits: z.object({ cpus: z.number().positive(), memoryBytes: z.number() }).partial() }).partial(),
});
export type ClusterPod = z.infer<typeof ClusterPod>;

export const ClusterNode = z.object({
  id: z.string(),
  name: z.string(),
  tenantId: z.string().nullable(),
  status: z.string(),
  lastSeenAt: z.string().nullable(),
  facts: z.object({ cpus: z.number(), memoryBytes: z.number() }).partial().nullable(),
});
export type ClusterNode = z.infer<typeof ClusterNode>;

export type ClusterSnapshot = { pods: ClusterPod[]; nodes: ClusterNode[] };

/** Fetches the snapshot; throws when the pods service does not answer (the rules that need it wait a tick). */
export type ClusterSource = () => Promise<ClusterSnapshot>;

const PodsAnswer = z.object({ pods: z.array(ClusterPod) });
const NodesAnswer = z.object({ nodes: z.array(ClusterNode) });

export function natsClusterSource(nc: MonitorRuntime['nc'], timeoutMs = 10_000): ClusterSource {
  return async () => {
    const meta = () => ({ actor: systemActor('monitor'), correlationId: newId() });
    const [pods, nodes] = await Promise.all([
      request(nc, querySubject('pods', 'listPods'), {}, meta(), { timeoutMs }),
      request(nc, querySubject('pods', 'listNodes'), {}, meta(), { timeoutMs }),
    ]);
    return { pods: PodsAnswer.parse(pods).pods, nodes: NodesAnswer.parse(nodes).nodes };
  };
}
