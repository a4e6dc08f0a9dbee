import { AppError, type PodView, podAggregateId, podRef, type RequestMeta } from '@agentpod/contracts';
import type { CommandOutcome } from '@agentpod/kit';
import { requireTenant } from '../access/tenants.ts';
import { execute, type PodsDeps, settle } from '../deps.ts';
import { decideNode, decidePlacement } from '../node/decide.ts';
import { heldOf } from '../node/ports.ts';
import { findNodes } from '../node/read-model/queries.ts';
import { encrypt, secretContext } from '../secrets/cipher.ts';
import { PLACEMENT_ATTEMPTS } from '../settings.ts';
import { decidePod, needsPlacement, type Replacement } from './decide.ts';
import type { Pod } from './events.ts';
import { capacityOf } from './placement.ts';
import { findPods } from './read-model/queries.ts';
import { applyPatch, parseUpdate } from './spec.ts';

/** Asks the pod's node for its new ports and limits; while the update runs the pod holds old and new ports. */
async function replace(deps: PodsDeps, meta: RequestMeta, pod: Pod, next: Pod['spec']) {
  const [node] = await findNodes(deps.runtime.db, deps.heartbeats, deps.runtime.clock(), { ids: [pod.nodeId] });
  let bindings: Replacement['ports'] = [];
  const outcome = await execute(
    deps,
    deps.repos.nodes,
    pod.nodeId,
    meta,
    (state) => {
      const decision = decidePlacement(
        {
          type: 'ChangePlacement',
          tenantId: pod.tenantId,
          podId: pod.podId,
          current: pod.ports,
          ports: next.ports,
          limits: { memoryBytes: next.limits.memoryBytes, cpus: next.limits.cpus },
          capacity: capacityOf(deps, node),
        },
        state,
      );
      if (decision instanceof AppError) return decision;
      bindings = decision.bindings;
      return decision.events;
    },
    PLACEMENT_ATTEMPTS,
  );
  return { outcome, placement: { base: pod.ports, ports: bindings } satisfies Replacement };
}

/**
 * Once the update is stored or has failed, the pod's node keeps only what the pod now uses: the ports this update
 * made unnecessary are dropped (the old ones after success, the new ones after failure), never any other
 * request's, and the limits are those of the pod as it now is.
 */
async function trim(deps: PodsDeps, meta: RequestMeta, pod: Pod, placement: Replacement, stored: boolean) {
  const { state } = await deps.repos.pods.load(podAggregateId(pod.tenantId, pod.podId));
  if (state.status !== 'live' || state.nodeId !== pod.nodeId) return undefined;
  return execute(deps, deps.repos.nodes, pod.nodeId, meta, (node) =>
    decideNode(
      {
        type: 'TrimPlacement',
        tenantId: pod.tenantId,
        podId: pod.podId,
        drop: heldOf(stored ? placement.base : placement.ports),
        keep: heldOf(state.ports),
        limits: { memoryBytes: state.spec.limits.memoryBytes, cpus: state.spec.limits.cpus },
      },
      node,
    ),
  );
}

/** `pods.cmd.updatePod`: a new generation with the merged spec; ports and limits re-decided on the node. */
export async function updatePod(deps: PodsDeps, raw: unknown, meta: RequestMeta): Promise<PodView> {
  const patch = parseUpdate(raw);
  const { tenantId, podId } = patch;
  await requireTenant(deps.runtime, meta, tenantId, 'member', 'updating a pod', `pod ${podRef(tenantId, podId)}`);
  const aggregateId = podAggregateId(tenantId, podId);
  const { state } = await deps.repos.pods.load(aggregateId);
  if (state.status !== 'live') throw new AppError('not_found', `no pod ${podRef(tenantId, podId)}`);
  const next = applyPatch(state.spec, patch);
  const secrets = Object.fromEntries(
    Object.entries(patch.secrets ?? {}).map(([name, value]) => [
      name,
      encrypt(deps.keyring, value, secretContext(tenantId, podId, name)),
    ]),
  );
  const replaced = needsPlacement(state.spec, next) ? await replace(deps, meta, state, next) : undefined;
  let updated: CommandOutcome<unknown> | undefined;
  let failure: unknown;
  try {
    updated = await execute(deps, deps.repos.pods, aggregateId, { ...meta, tenantId }, (current) =>
      decidePod({ type: 'UpdatePod', tenantId, podId, patch, secrets, placement: replaced?.placement }, current),
    );
  } catch (error) {
    failure = error;
  }
  const trimmed = replaced
    ? await trim(deps, meta, state, replaced.placement, (updated?.events.length ?? 0) > 0)
    : undefined;
  if (failure !== undefined) throw failure;
  await settle(deps, replaced?.outcome, updated, trimmed);
  const [view] = await findPods(deps, { tenants: [tenantId], podId });
  if (!view) throw new AppError('not_found', `no pod ${podRef(tenantId, podId)}`);
  return view;
}
