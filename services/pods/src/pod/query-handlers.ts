import {
  AppError,
  hasPlatformAdmin,
  PodQueries,
  type PodResult,
  podAggregateId,
  podRef,
  querySubject,
  type RequestMeta,
} from '@agentpod/contracts';
import { handler } from '@agentpod/kit';
import type { z } from 'zod';
import { isService, isSystem } from '../access/policy.ts';
import { readableTenants, requireTenant } from '../access/tenants.ts';
import type { PodsDeps } from '../deps.ts';
import { decrypt, secretContext, tokenContext } from '../secrets/cipher.ts';
import { buildContainerSpec } from './container-spec.ts';
import type { Pod } from './events.ts';
import { countPods, findPods, newestContainer } from './read-model/queries.ts';
import { registerWorkspaceQueries } from './workspace-queries.ts';

/** The live pod from the log (not the read model): where secrets and the token are, encrypted. */
async function livePod(deps: PodsDeps, tenantId: string, podId: string): Promise<Pod> {
  const { state } = await deps.repos.pods.load(podAggregateId(tenantId, podId));
  if (state.status !== 'live') throw new AppError('not_found', `no pod ${podRef(tenantId, podId)}`);
  return state;
}

/** Registers `pods.qry.{listPods,getPod,podToken,podSecrets,logTarget,containerSpec,countTenantPods}`. */
export function registerPodQueries(deps: PodsDeps): void {
  const { runtime } = deps;
  registerWorkspaceQueries(deps);
  const serve = <I, O>(
    name: keyof typeof PodQueries,
    input: z.ZodType<I>,
    handle: (i: I, m: RequestMeta) => Promise<O>,
  ) => runtime.serve(querySubject('pods', name), handler(input, handle));
  const what = (tenantId: string, podId: string) => `pod ${podRef(tenantId, podId)}`;

  serve('listPods', PodQueries.listPods, async ({ tenantId }, meta): Promise<PodResult<'listPods'>> => {
    if (tenantId !== undefined) {
      await requireTenant(runtime, meta, tenantId, 'viewer', 'listing pods');
      return { pods: await findPods(deps, { tenants: [tenantId] }) };
    }
    const readable = await readableTenants(runtime, meta);
    return { pods: await findPods(deps, { tenants: readable === 'all' ? 'all' : [...readable.keys()] }) };
  });

  serve('getPod', PodQueries.getPod, async ({ tenantId, podId }, meta): Promise<PodResult<'getPod'>> => {
    await requireTenant(runtime, meta, tenantId, 'viewer', 'reading a pod', what(tenantId, podId));
    const [view] = await findPods(deps, { tenants: [tenantId], podId });
    if (!view) throw new AppError('not_found', `no pod ${podRef(tenantId, podId)}`);
    return view;
  });

  serve('podToken', PodQueries.podToken, async ({ tenantId, podId }, meta): Promise<PodResult<'podToken'>> => {
    await requireTenant(runtime, meta, tenantId, 'admin', 'reading a pod token', what(tenantId, podId));
    const pod = await livePod(deps, tenantId, podId);
    return { accessToken: decrypt(deps.keyring, pod.accessToken, tokenContext(tenantId, podId)) };
  });

  serve('podSecrets', PodQueries.podSecrets, async ({ tenantId, podId }, meta): Promise<PodResult<'podSecrets'>> => {
    // Of the services, only the ai service reads them: to remove every secret value from what it sends a model.
    if (isSystem(meta) && !isService(meta, 'ai')) {
      throw new AppError('forbidden', 'only the ai service (which removes them from its prompts) may read pod secrets');
    }
    await requireTenant(runtime, meta, tenantId, 'admin', 'reading pod secrets', what(tenantId, podId));
    const pod = await livePod(deps, tenantId, podId);
    const secrets = Object.entries(pod.secrets).map(([name, value]) => [
      name,
      decrypt(deps.keyring, value, secretContext(tenantId, podId, name)),
    ]);
    return { secrets: Object.fromEntries(secrets) };
  });

  serve('logTarget', PodQueries.logTarget, async ({ tenantId, podId }, meta): Promise<PodResult<'logTarget'>> => {
    await requireTenant(runtime, meta, tenantId, 'viewer', 'reading pod logs', what(tenantId, podId));
    const [view] = await findPods(deps, { tenants: [tenantId], podId });
    if (!view) throw new AppError('not_found', `no pod ${podRef(tenantId, podId)}`);
    const target = view.containerId
      ? { nodeId: view.nodeId, containerId: view.containerId }
      : await newestContainer(deps, tenantId, podId);
    if (!target) throw new AppError('not_found', `pod ${podRef(tenantId, podId)} has no container yet`);
    return target;
  });

  // Secrets in clear leave this service only here, for the reconciler to hand to the node that runs the pod.
  serve(
    'containerSpec',
    PodQueries.containerSpec,
    async ({ tenantId, podId, generation }, meta): Promise<PodResult<'containerSpec'>> => {
      if (!isService(meta, 'reconciler')) throw new AppError('forbidden', 'only the reconciler may ask for this');
      const pod = await livePod(deps, tenantId, podId);
      if (pod.generation !== generation) {
        throw new AppError(
          'conflict',
          `${podRef(tenantId, podId)} is at generation ${pod.generation}, not ${generation}`,
          {
            details: { generation: pod.generation },
          },
        );
      }
      return buildContainerSpec(pod, (value, of) =>
        decrypt(
          deps.keyring,
          value,
          'secret' in of ? secretContext(tenantId, podId, of.secret) : tokenContext(tenantId, podId),
        ),
      );
    },
  );

  serve(
    'countTenantPods',
    PodQueries.countTenantPods,
    async ({ tenantId }, meta): Promise<PodResult<'countTenantPods'>> => {
      if (!isSystem(meta) && !(meta.principal && hasPlatformAdmin(meta.principal))) {
        throw new AppError('forbidden', 'only a service or a platform admin may count the pods of a tenant');
      }
      return { count: await countPods(deps, tenantId) };
    },
  );
}
