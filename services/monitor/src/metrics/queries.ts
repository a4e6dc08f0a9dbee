import {
  AppError,
  hasPlatformAdmin,
  MetricsQueries,
  type MetricsResults,
  querySubject,
  type RequestMeta,
  type Series,
} from '@agentpod/contracts';
import { assertPlatformAdmin, handler } from '@agentpod/kit';
import type { z } from 'zod';
import { readableTenants, requireTenant } from '../access.ts';
import type { MonitorRuntime } from '../deps.ts';
import { latestNodes, latestPods, nodeSeries, podSeries } from './series.ts';
import { seriesWindow } from './time.ts';
import { readCounters } from './writer.ts';

/*
 * `monitor.qry.{podSeries,nodeSeries,top,metricsStats}`. Access, from the monitor's own copy of the memberships:
 * - podSeries: viewer or above of the tenant (none: not_found, as for alerts). Only samples reported by the node
 *   the pod is placed on count (the gateway names it from the pods service), so a node cannot forge another
 *   tenant's pod series by labelling a container of its own.
 * - nodeSeries: a platform admin, or a member of the tenant the gateway says owns the node (the monitor does not
 *   read PODS; the gateway asked pods `getNode` with the caller's principal first). Else not_found.
 * - top: the latest sample of every pod of the tenants the caller reads, and every node for a platform admin.
 * - metricsStats: platform admins and services.
 */

type Result<K extends keyof typeof MetricsResults> = z.infer<(typeof MetricsResults)[K]>;

const isSystem = (meta: RequestMeta): boolean => meta.actor.kind === 'system' && meta.principal === undefined;
const seesEveryNode = (meta: RequestMeta): boolean =>
  isSystem(meta) || (meta.principal !== undefined && hasPlatformAdmin(meta.principal));

export function registerMetricsQueries(runtime: MonitorRuntime): void {
  const { sql, clock } = runtime;
  const serve = <I, O>(
    name: keyof typeof MetricsQueries,
    input: z.ZodType<I>,
    handle: (i: I, m: RequestMeta) => Promise<O>,
  ) => runtime.serve(querySubject('monitor', name), handler(input, handle));

  serve('podSeries', MetricsQueries.podSeries, async (input, meta): Promise<Result<'podSeries'>> => {
    const { tenantId, podId, nodeId, range } = input;
    await requireTenant(runtime, meta, tenantId, 'viewer', 'reading pod metrics');
    const window = seriesWindow(range, clock());
    const { points, stepSeconds } = await podSeries(sql, { tenantId, podId, nodeId }, window);
    return series({ kind: 'pod', tenantId, podId }, range, window, stepSeconds, points);
  });

  serve('nodeSeries', MetricsQueries.nodeSeries, async (input, meta): Promise<Result<'nodeSeries'>> => {
    const { nodeId, range, tenantId } = input;
    if (!seesEveryNode(meta)) {
      if (tenantId === undefined) {
        throw new AppError('not_found', `node ${nodeId} does not exist or you have no access to it`);
      }
      await requireTenant(runtime, meta, tenantId, 'viewer', 'reading node metrics');
    }
    const window = seriesWindow(range, clock());
    const { points, stepSeconds } = await nodeSeries(sql, nodeId, window);
    return series({ kind: 'node', nodeId }, range, window, stepSeconds, points);
  });

  serve('top', MetricsQueries.top, async ({ tenantId }, meta): Promise<Result<'top'>> => {
    const now = clock();
    if (tenantId !== undefined) {
      await requireTenant(runtime, meta, tenantId, 'viewer', 'reading pod metrics');
      return { rows: await latestPods(sql, [tenantId], now) };
    }
    const tenants = await readableTenants(runtime, meta);
    const pods = await latestPods(sql, tenants, now);
    const nodes = seesEveryNode(meta) ? await latestNodes(sql, now) : [];
    return { rows: [...nodes, ...pods] };
  });

  serve('metricsStats', MetricsQueries.metricsStats, async (_input, meta): Promise<Result<'metricsStats'>> => {
    assertPlatformAdmin(meta);
    return readCounters(sql);
  });
}

function series(
  target: Series['target'],
  range: Series['range'],
  window: ReturnType<typeof seriesWindow>,
  stepSeconds: number,
  points: Series['points'],
): Series {
  return {
    target,
    range,
    resolution: window.resolution,
    stepSeconds,
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    points,
  };
}
