import {
  AppError,
  type CreatePodResult,
  podAggregateId,
  podRef,
  type RequestMeta,
  volumeName,
} from '@agentpod/contracts';
import type { CommandOutcome } from '@agentpod/kit';
import type { z } from 'zod';
import { requireTenant } from '../access/tenants.ts';
import { execute, type PodsDeps, settle } from '../deps.ts';
import { encrypt, secretContext, tokenContext } from '../secrets/cipher.ts';
import { newAccessToken } from '../secrets/tokens.ts';
import { decidePod } from './decide.ts';
import { candidates, place, releaseAbandoned, unplace } from './placement.ts';
import { findPods } from './read-model/queries.ts';
import { parseCreate } from './spec.ts';

/**
 * `pods.cmd.createPod`: checked (policy, schema), authorised (member+), placed on a node (PodPlaced holds its
 * ports and memory there), then recorded (PodCreated). When the second step fails the first is undone, so there
 * is never a pod without a place nor a place without a pod; when no node takes it nothing is stored at all.
 */
export async function createPod(
  deps: PodsDeps,
  raw: unknown,
  meta: RequestMeta,
): Promise<z.infer<typeof CreatePodResult>> {
  const { tenantId, podId, spec, secrets, node } = parseCreate(raw);
  await requireTenant(deps.runtime, meta, tenantId, 'member', 'creating a pod');
  const aggregateId = podAggregateId(tenantId, podId);
  const current = await deps.repos.pods.load(aggregateId);
  if (current.state.status === 'live') throw new AppError('conflict', `pod ${podRef(tenantId, podId)} exists already`);

  // Everything that could fail without touching the log comes first: then a failure leaves nothing to undo.
  const { keyring } = deps;
  const accessToken = newAccessToken();
  const encrypted = Object.fromEntries(
    Object.entries(secrets).map(([name, value]) => [
      name,
      encrypt(keyring, value, secretContext(tenantId, podId, name)),
    ]),
  );
  const sealedToken = encrypt(keyring, accessToken, tokenContext(tenantId, podId));
  const nodes = await candidates(deps, tenantId, node);
  const released = await releaseAbandoned(deps, meta, tenantId, podId);

  const placed = await place(deps, meta, nodes, {
    tenantId,
    podId,
    ports: spec.ports,
    limits: { memoryBytes: spec.limits.memoryBytes, cpus: spec.limits.cpus },
    named: node !== undefined,
  });
  let created: CommandOutcome<unknown>;
  try {
    created = await execute(deps, deps.repos.pods, aggregateId, { ...meta, tenantId }, (state) =>
      decidePod(
        {
          type: 'CreatePod',
          tenantId,
          podId,
          nodeId: placed.nodeId,
          spec,
          secrets: encrypted,
          ports: placed.bindings,
          volumeName: spec.volume ? volumeName(tenantId, podId) : null,
          accessToken: sealedToken,
        },
        state,
      ),
    );
  } catch (error) {
    try {
      await settle(deps, await unplace(deps, meta, { tenantId, podId }, placed));
    } catch (undo) {
      deps.runtime.logger.error({ err: undo, tenantId, podId }, 'could not undo the placement of a pod not created');
    }
    throw error;
  }
  await settle(deps, ...released, placed.outcome, created);
  const [view] = await findPods(deps, { tenants: [tenantId], podId });
  if (!view) throw new AppError('internal', `pod ${podRef(tenantId, podId)} is missing from the read model`);
  return { ...view, accessToken };
}
