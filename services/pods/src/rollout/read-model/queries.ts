import type { RolloutStatus, RolloutView } from '@agentpod/contracts';
import type { Kysely } from 'kysely';
import type { PodsDb } from '../../db.ts';
import { rolloutView, type Started } from '../events.ts';

/** How many rollouts a list answers at most, newest first. */
export const ROLLOUT_LIST_LIMIT = 100;

export type RolloutFilter = {
  /** `all`, or the tenants whose rollouts to list (a rollout across every tenant is listed only with `all`). */
  tenants: 'all' | readonly string[];
  status?: RolloutStatus | undefined;
};

export async function findRollouts(db: Kysely<PodsDb>, filter: RolloutFilter): Promise<RolloutView[]> {
  const { tenants } = filter;
  if (tenants !== 'all' && tenants.length === 0) return [];
  const rows = await db
    .selectFrom('rollouts')
    .select('state')
    .$if(tenants !== 'all', (q) => q.where('tenant_id', 'in', tenants === 'all' ? [] : tenants))
    .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status ?? 'running'))
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .limit(ROLLOUT_LIST_LIMIT)
    .execute();
  return rows.map((row) => rolloutView(row.state as Started));
}

export async function findRollout(db: Kysely<PodsDb>, id: string): Promise<Started | undefined> {
  const row = await db.selectFrom('rollouts').select('state').where('id', '=', id).executeTakeFirst();
  return row?.state as Started | undefined;
}

/** Rollouts still running: what the runner drives. */
export async function runningRolloutIds(db: Kysely<PodsDb>): Promise<string[]> {
  const rows = await db
    .selectFrom('rollouts')
    .select('id')
    .where('status', '=', 'running')
    .orderBy('started_at')
    .execute();
  return rows.map((row) => row.id);
}
