import {
  AppError,
  commandSubject,
  newId,
  PodCommands,
  type PodResult,
  type PodView,
  podAggregateId,
  podRef,
  type RequestMeta,
  streamName,
  type TenantRole,
} from '@agentpod/contracts';
import { handler } from '@agentpod/kit';
import { z } from 'zod';
import { isService, isSystem } from '../access/policy.ts';
import { requireTenant } from '../access/tenants.ts';
import { execute, type PodsDeps, settle } from '../deps.ts';
import { decideNode } from '../node/decide.ts';
import { encrypt, tokenContext } from '../secrets/cipher.ts';
import { newAccessToken } from '../secrets/tokens.ts';
import { registerAdoption } from './adopt-handlers.ts';
import { createPod } from './create.ts';
import { decidePod, type PodCommand } from './decide.ts';
import { findPods } from './read-model/queries.ts';
import { updatePod } from './update.ts';

type Key = { tenantId: string; podId: string };

/** Runs one command on a pod, for a caller with at least `required` in the pod's tenant. */
async function change(
  deps: PodsDeps,
  meta: RequestMeta,
  key: Key,
  command: PodCommand,
  action: string,
  required: TenantRole = 'member',
) {
  const { tenantId, podId } = key;
  await requireTenant(deps.runtime, meta, tenantId, required, action, `pod ${podRef(tenantId, podId)}`);
  const outcome = await execute(deps, deps.repos.pods, podAggregateId(tenantId, podId), { ...meta, tenantId }, (s) =>
    decidePod(command, s),
  );
  await settle(deps, outcome);
  return outcome;
}

async function viewOf(deps: PodsDeps, { tenantId, podId }: Key): Promise<PodView> {
  const [view] = await findPods(deps, { tenants: [tenantId], podId });
  if (!view) throw new AppError('not_found', `no pod ${podRef(tenantId, podId)}`);
  return view;
}

/**
 * Deletes a pod (PodDeleted), then frees its place on its node (PodReleased). A pod deleted before whose release
 * was interrupted is released by a second delete, which then answers `not_found` like any absent pod.
 */
async function deletePod(deps: PodsDeps, meta: RequestMeta, key: Key & { keepVolume: boolean }) {
  const { tenantId, podId } = key;
  const aggregateId = podAggregateId(tenantId, podId);
  const { state } = await deps.repos.pods.load(aggregateId);
  const release = (nodeId: string, placedBefore?: Date) =>
    execute(deps, deps.repos.nodes, nodeId, meta, (node) =>
      decideNode({ type: 'ReleasePod', tenantId, podId, placedBefore }, node),
    );
  // Only what was placed before the deletion: a creation under the same name may be placing it again right now.
  if (state.status === 'deleted') {
    await settle(deps, await release(state.nodeId, new Date(Date.parse(state.updatedAt) + 1)));
  }
  if (state.status !== 'live') throw new AppError('not_found', `no pod ${podRef(tenantId, podId)}`);
  const deleted = await execute(deps, deps.repos.pods, aggregateId, { ...meta, tenantId }, (s) =>
    decidePod({ type: 'DeletePod', tenantId, podId, keepVolume: key.keepVolume }, s),
  );
  const released = await release(state.nodeId);
  await settle(deps, deleted, released);
}

/**
 * Registers the pod commands: `pods.cmd.{createPod,updatePod,stopPod,startPod,restartPod,rotatePodToken,…}`, and
 * adoption (`pods.cmd.adoptPod`, `pods.qry.discoverContainers`, see adopt-handlers.ts).
 */
export function registerPodCommands(deps: PodsDeps): void {
  const { runtime } = deps;
  const serve = <I, O>(
    name: keyof typeof PodCommands,
    input: z.ZodType<I>,
    handle: (i: I, m: RequestMeta) => Promise<O>,
  ) => runtime.serve(commandSubject('pods', name), handler(input, handle));

  // Raw input: the security policy reads the request before the schema does (see spec.ts).
  serve('createPod', z.unknown(), (raw, meta): Promise<PodResult<'createPod'>> => createPod(deps, raw, meta));
  serve('updatePod', z.unknown(), (raw, meta): Promise<PodResult<'updatePod'>> => updatePod(deps, raw, meta));

  serve('stopPod', PodCommands.stopPod, async (key, meta): Promise<PodResult<'stopPod'>> => {
    await change(deps, meta, key, { type: 'StopPod', ...key }, 'stopping a pod');
    return viewOf(deps, key);
  });
  serve('startPod', PodCommands.startPod, async (key, meta): Promise<PodResult<'startPod'>> => {
    await change(deps, meta, key, { type: 'StartPod', ...key }, 'starting a pod');
    return viewOf(deps, key);
  });
  serve('restartPod', PodCommands.restartPod, async (key, meta): Promise<PodResult<'restartPod'>> => {
    await change(deps, meta, key, { type: 'RestartPod', ...key, restartId: newId() }, 'restarting a pod');
    return viewOf(deps, key);
  });

  // The token is shown to whoever may read it: admin and above.
  serve('rotatePodToken', PodCommands.rotatePodToken, async (key, meta): Promise<PodResult<'rotatePodToken'>> => {
    const { tenantId, podId } = key;
    const accessToken = newAccessToken();
    const sealed = encrypt(deps.keyring, accessToken, tokenContext(tenantId, podId));
    const command = { type: 'RotateToken', ...key, accessToken: sealed } as const;
    const outcome = await change(deps, meta, key, command, 'rotating a pod token', 'admin');
    if (outcome.state.status !== 'live') throw new AppError('not_found', `no pod ${podRef(tenantId, podId)}`);
    return { accessToken, generation: outcome.state.generation };
  });

  serve('deletePod', PodCommands.deletePod, async (input, meta): Promise<PodResult<'deletePod'>> => {
    const { tenantId, podId } = input;
    await requireTenant(runtime, meta, tenantId, 'member', 'deleting a pod', `pod ${podRef(tenantId, podId)}`);
    await deletePod(deps, meta, input);
    return { deleted: true };
  });

  // The tenants service deleting a tenant with force: every live pod goes, volumes included.
  serve('deleteTenantPods', PodCommands.deleteTenantPods, async ({ tenantId }, meta) => {
    const mayAsk = isService(meta, 'tenants') || (!isSystem(meta) && meta.principal?.platformAdmin === true);
    if (!mayAsk) throw new AppError('forbidden', 'only the tenants service or a platform admin may do this');
    const info = await runtime.jsm.streams.info(streamName('pods'));
    await runtime.caughtUp('pods', info.state.last_seq);
    const pods = await findPods(deps, { tenants: [tenantId] });
    for (const pod of pods) await deletePod(deps, meta, { tenantId, podId: pod.podId, keepVolume: false });
    return { deleted: pods.length } satisfies PodResult<'deleteTenantPods'>;
  });

  registerAdoption(deps);
}
