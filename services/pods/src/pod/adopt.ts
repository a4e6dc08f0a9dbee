import {
  type AdoptPodResult,
  AppError,
  type ContainerDescription,
  type PodCommands,
  podAggregateId,
  podRef,
  type RequestMeta,
} from '@agentpod/contracts';
import type { CommandOutcome } from '@agentpod/kit';
import type { z } from 'zod';
import { requireTenant } from '../access/tenants.ts';
import { execute, type PodsDeps, settle } from '../deps.ts';
import { decideNode } from '../node/decide.ts';
import type { KnownNode } from '../node/read-model/queries.ts';
import { encrypt, secretContext, tokenContext } from '../secrets/cipher.ts';
import { newAccessToken } from '../secrets/tokens.ts';
import { PLACEMENT_ATTEMPTS } from '../settings.ts';
import { adoptionNodes, askAgent } from './adopt-nodes.ts';
import { decideClaim } from './adopt-placement.ts';
import { planAdoption } from './adopt-spec.ts';
import { decidePod } from './decide.ts';
import { releaseAbandoned } from './placement.ts';
import { findPods } from './read-model/queries.ts';

type AdoptPodInput = z.infer<typeof PodCommands.adoptPod>;

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * The container to adopt and the node it runs on: asked of the named node, else of every node the caller may
 * adopt on. Found on none: `not_found`; managed already: that node's `conflict`; on several: `conflict` asking
 * which.
 */
async function locate(
  deps: PodsDeps,
  meta: RequestMeta,
  input: AdoptPodInput,
): Promise<{ node: KnownNode; described: ContainerDescription }> {
  const nodes = await adoptionNodes(deps, meta, input.tenantId, input.node);
  const answers = await Promise.all(
    nodes.map((node) =>
      askAgent(deps, meta, node.id, 'describeContainer', { containerId: input.container }).then(
        (described) => ({ node, described }),
        (error: unknown) => ({ node, error }),
      ),
    ),
  );
  const found = answers.flatMap((answer) => ('described' in answer ? [answer] : []));
  const [only] = found;
  if (only && found.length === 1) return only;
  if (found.length > 1)
    throw new AppError(
      'conflict',
      `${input.container} names a container on nodes ${found.map((f) => f.node.name).join(', ')}: say which with --node`,
    );
  const failures = answers.flatMap((answer) => ('error' in answer ? [answer] : []));
  const decisive = failures.find((f) => f.error instanceof AppError && f.error.code !== 'not_found');
  // One node answering (the named one): its own words; several: the first that is more than "not here".
  if (nodes.length === 1 && failures[0]) throw failures[0].error;
  if (decisive) throw decisive.error;
  throw new AppError(
    'not_found',
    nodes.length === 0
      ? `no online node of tenant ${input.tenantId} you may adopt on`
      : `no container ${input.container} on ${nodes.map((n) => n.name).join(', ')}`,
  );
}

/**
 * `pods.cmd.adoptPod`: a container that runs without AgentPod becomes the pod, as it runs. Its description (the
 * agent's) becomes the pod's spec, env values encrypted as secrets; its host ports are claimed on the node
 * (PodPlaced) and the pod recorded (PodAdopted), undoing the claim if that fails; then the agent takes the
 * container over. If the agent does not answer that last call, the adoption is still recorded and the
 * reconciler's create of the generation finishes it (`ContainerSpec.adopt`): it never makes a second container.
 */
export async function adoptPod(deps: PodsDeps, input: AdoptPodInput, meta: RequestMeta): Promise<AdoptPodResult> {
  const { tenantId, podId } = input;
  const ref = podRef(tenantId, podId);
  await requireTenant(deps.runtime, meta, tenantId, 'owner', 'adopting a container', `tenant ${tenantId}`);
  const aggregateId = podAggregateId(tenantId, podId);
  const current = await deps.repos.pods.load(aggregateId);
  if (current.state.status === 'live')
    throw new AppError('conflict', `pod ${ref} exists already; adopt the container as another pod id`);

  const { node, described } = await locate(deps, meta, input);
  const plan = planAdoption(described);
  const { keyring } = deps;
  const secrets = Object.fromEntries(
    Object.entries(plan.secretValues).map(([name, value]) => [
      name,
      encrypt(keyring, value, secretContext(tenantId, podId, name)),
    ]),
  );
  const accessToken = newAccessToken();
  const sealedToken = encrypt(keyring, accessToken, tokenContext(tenantId, podId));
  const containerId = described.container.id;

  const released = await releaseAbandoned(deps, meta, tenantId, podId);
  const limits = { memoryBytes: plan.spec.limits.memoryBytes, cpus: plan.spec.limits.cpus };
  const claimed = await execute(
    deps,
    deps.repos.nodes,
    node.id,
    meta,
    (state, now) => {
      const decision = decideClaim({ tenantId, podId, ports: plan.ports, limits, now }, state);
      return decision instanceof AppError ? decision : decision.events;
    },
    PLACEMENT_ATTEMPTS,
  );
  const by = claimed.events[0]?.envelope.id;
  if (!by) throw new AppError('internal', `claiming the ports of ${ref} stored nothing`);
  let adopted: CommandOutcome<unknown>;
  try {
    adopted = await execute(deps, deps.repos.pods, aggregateId, { ...meta, tenantId }, (state) =>
      decidePod(
        {
          type: 'AdoptPod',
          tenantId,
          podId,
          nodeId: node.id,
          spec: plan.spec,
          secrets,
          ports: plan.ports,
          keptMounts: plan.keptMounts,
          accessToken: sealedToken,
          containerId,
        },
        state,
      ),
    );
  } catch (error) {
    try {
      const release = (s: Parameters<typeof decideNode>[1]) =>
        decideNode({ type: 'ReleasePod', tenantId, podId, by }, s);
      await settle(deps, await execute(deps, deps.repos.nodes, node.id, meta, release));
    } catch (undo) {
      deps.runtime.logger.error({ err: undo, tenantId, podId }, 'could not undo the port claim of a pod not adopted');
    }
    throw error;
  }
  await settle(deps, ...released, claimed, adopted);

  const notes = [...plan.notes];
  const { state } = await deps.repos.pods.load(aggregateId);
  const generation = state.status === 'live' ? state.generation : 1;
  try {
    await askAgent(deps, meta, node.id, 'adoptContainer', { containerId, tenantId, podId, generation });
  } catch (error) {
    notes.push(`node ${node.name} has not taken the container over yet (${messageOf(error)}); the reconciler will`);
  }
  const [view] = await findPods(deps, { tenants: [tenantId], podId });
  if (!view) throw new AppError('internal', `pod ${ref} is missing from the read model`);
  return { ...view, accessToken, containerId, notes };
}
