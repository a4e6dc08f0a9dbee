import { NodeResults, PodResults, querySubject, type TopRow } from '@agentpod/contracts';
import type { RouteHandlers } from './context.ts';

type MetricsHandlers = Pick<RouteHandlers, 'podMetrics' | 'nodeMetrics' | 'top'>;

const monitorQry = (name: string) => querySubject('monitor', name);
const podsQry = (name: string) => querySubject('pods', name);

/*
 * Metrics: the monitor answers, and checks access again from its own memberships. What the monitor cannot know
 * (it does not read PODS) comes from the pods service, asked with the caller's principal so another tenant's pod
 * or node is a 404 before the monitor is asked anything:
 * - a pod's node (getPod): only samples reported by the node the pod is placed on count;
 * - a node's owner (getNode): the monitor lets a member of that tenant read the node's series;
 * - `top`: pod rows are kept only from the node each pod is placed on (listPods), so a node labelling a container
 *   of its own as another tenant's pod shows nothing, and a deleted pod's last samples are not listed.
 */
export const metricsHandlers: MetricsHandlers = {
  podMetrics: async ({ params, query, call }) => {
    const key = { tenantId: params.tenant, podId: params.pod };
    const pod = PodResults.getPod.parse(await call(podsQry('getPod'), key));
    return call(monitorQry('podSeries'), { ...key, nodeId: pod.nodeId, range: query.range });
  },

  nodeMetrics: async ({ params, query, call }) => {
    const node = NodeResults.getNode.parse(await call(podsQry('getNode'), { node: params.node }));
    return call(monitorQry('nodeSeries'), {
      nodeId: node.id,
      range: query.range,
      ...(node.tenantId ? { tenantId: node.tenantId } : {}),
    });
  },

  top: async ({ query, call }) => {
    const scope = query.tenant ? { tenantId: query.tenant } : {};
    const [top, listed] = await Promise.all([
      call<{ rows: TopRow[] }>(monitorQry('top'), scope),
      call(podsQry('listPods'), scope).then((answer) => PodResults.listPods.parse(answer)),
    ]);
    const placedOn = new Map(listed.pods.map((pod) => [`${pod.tenantId}/${pod.podId}`, pod.nodeId]));
    const rows = top.rows.filter(
      (row) => row.kind === 'node' || placedOn.get(`${row.tenantId}/${row.podId}`) === row.nodeId,
    );
    return { rows };
  },
};
