import type { Matrix } from './fixtures.ts';
import type { PodWorld } from './pods.ts';

/*
 * Rollouts of acme for the rollout routes, started by the platform admin through the API, each on a pod of its
 * own (a pod is in at most one running rollout): one shared rollout to read, fresh ones to cancel.
 */

export const MATRIX_ROLLOUT_IMAGE = 'example.test/matrix/app:2';

export type RolloutWorld = {
  /** A rollout of acme for the read routes; its id. */
  shared(): Promise<string>;
  /** A new running rollout of acme (to cancel); its id. */
  fresh(): Promise<string>;
};

/**
 * Cancels every running rollout: a rollout across every tenant takes in every running pod, and a pod already in a
 * running rollout would refuse it.
 */
export async function cancelRunningRollouts(m: Matrix): Promise<void> {
  const { rollouts } = await m.world.must<{ rollouts: { id: string }[] }>(200, {
    method: 'GET',
    url: '/api/v1/rollouts?status=running',
    as: m.root,
  });
  for (const { id } of rollouts) {
    await m.world.must(200, { method: 'POST', url: `/api/v1/rollouts/${id}/cancel`, as: m.root });
  }
}

export function rolloutWorld(m: Matrix, pods: PodWorld): RolloutWorld {
  const start = async () => {
    const started = await m.world.must<{ id: string }>(201, {
      method: 'POST',
      url: '/api/v1/tenants/acme/rollouts',
      as: m.root,
      body: { pods: [await pods.freshPod()], image: MATRIX_ROLLOUT_IMAGE },
    });
    return started.id;
  };
  let shared: Promise<string> | undefined;
  return {
    shared: () => {
      shared ??= start();
      return shared;
    },
    fresh: start,
  };
}
