import type { ReconcilerEnv } from '../env.ts';
import { policyFrom } from '../plan/backoff.ts';
import { type PlanPolicy, podKey } from '../plan/model.ts';
import { type PassPlan, planPass } from '../plan/plan.ts';
import { shardOf } from '../shards.ts';
import type { World } from '../world.ts';

/*
 * The loop's and the plan query's one way into the planner: the world (or the part of it in some shards) in, the
 * actions, the pods left waiting and the time the first wait ends out.
 */

export type { PassPlan };
export type PassPolicy = PlanPolicy;

export const policyOf = (config: ReconcilerEnv): PassPolicy => policyFrom(config);

export function planWorld(world: World, onlineNodes: ReadonlySet<string>, now: Date, policy: PassPolicy): PassPlan {
  const { desired, observed, history } = world;
  return planPass({ desired, observed, onlineNodes, now, history, policy });
}

/**
 * The part of the world whose pods fall in `shards`: desired pods by their key, containers by the key their labels
 * name (so an orphan belongs to the shard of the pod it claims to be). The history is only looked up by key.
 */
export function worldOfShards(world: World, shards: ReadonlySet<number>, shardCount: number): World {
  const mine = (item: { tenantId: string; podId: string }) =>
    shards.has(shardOf(podKey(item.tenantId, item.podId), shardCount));
  return { ...world, desired: world.desired.filter(mine), observed: world.observed.filter(mine) };
}

/** Pods (and orphans' keys) in a world: what a pass over it plans for. */
export function podsIn(world: World): number {
  const keys = new Set<string>();
  for (const item of [...world.desired, ...world.observed]) keys.add(podKey(item.tenantId, item.podId));
  return keys.size;
}
