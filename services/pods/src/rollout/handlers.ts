import { randomInt } from 'node:crypto';
import {
  AppError,
  commandSubject,
  querySubject,
  type RequestMeta,
  RolloutCommands,
  RolloutQueries,
  type RolloutResult,
  RolloutTimeouts,
  type RolloutView,
  StartRollout,
} from '@agentpod/contracts';
import { handler } from '@agentpod/kit';
import type { z } from 'zod';
import { mayManagePool } from '../access/policy.ts';
import { readableTenants, requireTenant } from '../access/tenants.ts';
import { settle } from '../deps.ts';
import { findPods } from '../pod/read-model/queries.ts';
import { onRollout, type RolloutDeps } from './deps.ts';
import { rolloutView, type Started } from './events.ts';
import { findRollout, findRollouts } from './read-model/queries.ts';
import { busyTargets, selectTargets } from './targets.ts';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `rol_` and 20 random lower-case letters or digits (about 103 bits). */
export function newRolloutId(): string {
  let id = 'rol_';
  for (let i = 0; i < 20; i++) id += ALPHABET[randomInt(ALPHABET.length)];
  return id;
}

const noRollout = (id: string) => new AppError('not_found', `no rollout ${id}, or it is not yours to see`);

/**
 * Who may start a rollout: named pods, a member of their tenant; every pod of a tenant, its admins; every pod of
 * every tenant, platform admins. The same rights cancel it; reading it needs the viewer role in its tenant (a
 * rollout across tenants: a platform admin).
 */
async function mayStart(deps: RolloutDeps, meta: RequestMeta, input: StartRollout): Promise<void> {
  if (input.tenantId === undefined) {
    if (!mayManagePool(meta))
      throw new AppError('forbidden', 'upgrading the pods of every tenant is for platform admins');
    return;
  }
  const required = input.pods ? 'member' : 'admin';
  const action = input.pods ? 'upgrading a pod' : 'upgrading every pod of a tenant';
  await requireTenant(deps.runtime, meta, input.tenantId, required, action);
}

/** The rollout, if the caller may read it (`change`: may cancel it); otherwise not_found, as for one that is absent. */
async function visible(deps: RolloutDeps, meta: RequestMeta, id: string, change = false): Promise<Started> {
  const rollout = await findRollout(deps.runtime.db, id);
  if (!rollout) throw noRollout(id);
  if (rollout.tenantId === null) {
    if (change ? !mayManagePool(meta) : (await readableTenants(deps.runtime, meta)) !== 'all') throw noRollout(id);
    return rollout;
  }
  const what = `rollout ${id}`;
  await requireTenant(deps.runtime, meta, rollout.tenantId, change ? 'member' : 'viewer', 'cancelling a rollout', what);
  return rollout;
}

async function startRollout(deps: RolloutDeps, input: StartRollout, meta: RequestMeta): Promise<RolloutView> {
  await mayStart(deps, meta, input);
  const pods = await findPods(deps, { tenants: input.tenantId === undefined ? 'all' : [input.tenantId] });
  const targets = selectTargets(input, pods);
  const busy = busyTargets(targets, await findRollouts(deps.runtime.db, { tenants: 'all', status: 'running' }));
  if (busy) throw busy;
  const rolloutId = newRolloutId();
  const tenantId = input.tenantId ?? null;
  const timeouts = RolloutTimeouts.parse({ timeoutSeconds: input.timeoutSeconds, settleSeconds: input.settleSeconds });
  const command = { type: 'StartRollout', rolloutId, tenantId, targets, image: input.image, timeouts } as const;
  const outcome = await onRollout(
    deps,
    rolloutId,
    { ...meta, ...(tenantId ? { tenantId } : {}) },
    {
      ...command,
      maxUnavailable: input.maxUnavailable,
    },
  );
  await settle(deps, outcome);
  if (outcome.state.status === 'none') throw new AppError('internal', `rollout ${rolloutId} was not stored`);
  return rolloutView(outcome.state);
}

/** Registers `pods.cmd.{startRollout,cancelRollout}` and `pods.qry.{getRollout,listRollouts}`. */
export function registerRolloutHandlers(deps: RolloutDeps): void {
  const { runtime } = deps;
  const serve = <I, O>(subject: string, input: z.ZodType<I>, handle: (i: I, m: RequestMeta) => Promise<O>) =>
    runtime.serve(subject, handler(input, handle));

  serve(
    commandSubject('pods', 'startRollout'),
    StartRollout,
    (input, meta): Promise<RolloutResult<'startRollout'>> => startRollout(deps, input, meta),
  );

  serve(
    commandSubject('pods', 'cancelRollout'),
    RolloutCommands.cancelRollout,
    async ({ rolloutId }, meta): Promise<RolloutResult<'cancelRollout'>> => {
      const rollout = await visible(deps, meta, rolloutId, true);
      const scoped = rollout.tenantId === null ? meta : { ...meta, tenantId: rollout.tenantId };
      const outcome = await onRollout(deps, rolloutId, scoped, { type: 'CancelRollout' });
      await settle(deps, outcome);
      if (outcome.state.status === 'none') throw noRollout(rolloutId);
      return rolloutView(outcome.state);
    },
  );

  serve(
    querySubject('pods', 'getRollout'),
    RolloutQueries.getRollout,
    async ({ rolloutId }, meta): Promise<RolloutResult<'getRollout'>> =>
      rolloutView(await visible(deps, meta, rolloutId)),
  );

  serve(
    querySubject('pods', 'listRollouts'),
    RolloutQueries.listRollouts,
    async ({ tenantId, status }, meta): Promise<RolloutResult<'listRollouts'>> => {
      if (tenantId !== undefined) {
        await requireTenant(runtime, meta, tenantId, 'viewer', 'listing rollouts');
        return { rollouts: await findRollouts(runtime.db, { tenants: [tenantId], status }) };
      }
      const readable = await readableTenants(runtime, meta);
      const tenants = readable === 'all' ? 'all' : [...readable.keys()];
      return { rollouts: await findRollouts(runtime.db, { tenants, status }) };
    },
  );
}
