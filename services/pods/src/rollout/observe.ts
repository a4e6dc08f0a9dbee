import type { PodsDeps } from '../deps.ts';
import { findPods } from '../pod/read-model/queries.ts';
import { podKey, type Started } from './events.ts';
import type { ObservedPod } from './next-step.ts';

/** What the read model shows of a rollout's pods now, by `tenant/pod`; a deleted pod is absent. */
export async function observeTargets(deps: PodsDeps, rollout: Started): Promise<Map<string, ObservedPod>> {
  const tenants = [...new Set(rollout.pods.map((pod) => pod.tenantId))];
  const wanted = new Set(rollout.pods.map(podKey));
  const [views, failing] = await Promise.all([
    findPods(deps, { tenants }),
    deps.runtime.db
      .selectFrom('pod_failing')
      .select(['tenant_id', 'pod_id', 'generation'])
      .where('tenant_id', 'in', tenants)
      .execute(),
  ]);
  const failingGeneration = new Map(failing.map((row) => [`${row.tenant_id}/${row.pod_id}`, row.generation]));
  const observed = new Map<string, ObservedPod>();
  for (const view of views) {
    const key = podKey(view);
    if (!wanted.has(key)) continue;
    observed.set(key, {
      tenantId: view.tenantId,
      podId: view.podId,
      generation: view.generation,
      desired: view.desired,
      status: view.status,
      message: view.message,
      health: view.health,
      restarts: view.restarts,
      startedAt: view.startedAt,
      hasHealthCheck: view.spec.health !== undefined,
      failingGeneration: failingGeneration.get(key) ?? null,
    });
  }
  return observed;
}
