import { AppError, type PodView, podRef, type RolloutTarget, type StartRollout } from '@agentpod/contracts';

/*
 * Which pods a rollout upgrades, pure. Named pods must all exist and run (asked for by name, a stopped or missing
 * one is an error, not something to skip quietly). `all` takes every pod that is meant to run and does not have
 * the image yet. The order is the order they are upgraded: by tenant, then pod.
 */

const byRef = (a: RolloutTarget, b: RolloutTarget) =>
  podRef(a.tenantId, a.podId).localeCompare(podRef(b.tenantId, b.podId));

const targetOf = (pod: PodView): RolloutTarget => ({
  tenantId: pod.tenantId,
  podId: pod.podId,
  fromImage: pod.image,
  fromGeneration: pod.generation,
});

export function selectTargets(
  request: Pick<StartRollout, 'tenantId' | 'pods' | 'all' | 'image'>,
  pods: readonly PodView[],
): RolloutTarget[] {
  if (request.pods) {
    const tenantId = request.tenantId ?? '';
    return request.pods
      .map((podId) => {
        const pod = pods.find((p) => p.tenantId === tenantId && p.podId === podId);
        if (!pod) throw new AppError('not_found', `no pod ${podRef(tenantId, podId)}`);
        if (pod.desired === 'stopped') {
          throw new AppError('conflict', `pod ${podRef(tenantId, podId)} is stopped; start it before upgrading it`);
        }
        return targetOf(pod);
      })
      .sort(byRef);
  }
  const targets = pods
    .filter((pod) => request.tenantId === undefined || pod.tenantId === request.tenantId)
    .filter((pod) => pod.desired === 'running' && pod.image !== request.image)
    .map(targetOf)
    .sort(byRef);
  if (targets.length === 0) {
    const where = request.tenantId === undefined ? 'in any tenant' : `of tenant ${request.tenantId}`;
    throw new AppError(
      'invalid',
      `nothing to upgrade: no running pod ${where} has an image other than ${request.image}`,
    );
  }
  return targets;
}

/** Pods already being upgraded by another running rollout: a pod takes part in one rollout at a time. */
export function busyTargets(
  targets: readonly RolloutTarget[],
  running: readonly { id: string; pods: readonly { tenantId: string; podId: string }[] }[],
): AppError | undefined {
  for (const rollout of running) {
    const taken = targets.find((t) => rollout.pods.some((p) => p.tenantId === t.tenantId && p.podId === t.podId));
    if (taken) {
      return new AppError(
        'conflict',
        `pod ${podRef(taken.tenantId, taken.podId)} is part of rollout ${rollout.id}, still running; wait for it or ` +
          `cancel it (agentpod rollout cancel ${rollout.id})`,
      );
    }
  }
  return undefined;
}
