import { querySubject } from '@agentpod/contracts';
import { connectNats, createLogger, handler, serveRequests } from '@agentpod/kit';
import { z } from 'zod';
import type { ClusterNode, ClusterPod } from './cluster.ts';

/*
 * The pods service's two queries the rule evaluator asks (`pods.qry.listPods`, `pods.qry.listNodes`), answered by a
 * real NATS peer from fixtures the test changes as it goes: the stand-in for a service outside the monitor.
 */

export type PodsStandIn = {
  pods: ClusterPod[];
  nodes: ClusterNode[];
  /** Requests answered so far (the evaluator asks only when a rule needs it). */
  asked: number;
  stop(): Promise<void>;
};

export async function startPodsStandIn(natsUrl: string): Promise<PodsStandIn> {
  const logger = createLogger('pods-stand-in', 'silent');
  const nc = await connectNats({ url: natsUrl, name: 'pods-stand-in', logger });
  const standIn: PodsStandIn = {
    pods: [],
    nodes: [],
    asked: 0,
    stop: () => nc.close(),
  };
  const input = z.object({ tenantId: z.string().optional() });
  serveRequests({
    nc,
    subject: querySubject('pods', 'listPods'),
    queue: 'pods',
    logger,
    handler: handler(input, async () => {
      standIn.asked++;
      return { pods: standIn.pods };
    }),
  });
  serveRequests({
    nc,
    subject: querySubject('pods', 'listNodes'),
    queue: 'pods',
    logger,
    handler: handler(input, async () => {
      standIn.asked++;
      return { nodes: standIn.nodes };
    }),
  });
  await nc.flush();
  return standIn;
}

export const standInPod = (
  tenantId: string,
  podId: string,
  nodeId: string,
  extra: Partial<ClusterPod> = {},
): ClusterPod => ({
  tenantId,
  podId,
  nodeId,
  desired: 'running',
  status: 'running',
  message: null,
  health: 'healthy',
  spec: { limits: { cpus: 1, memoryBytes: 256 * 1024 * 1024 } },
  ...extra,
});
