import { AppError, CountTenantPods, hasPlatformAdmin, querySubject, type TenantPodCount } from '@agentpod/contracts';
import { handler, type ServiceRuntime } from '@agentpod/kit';
import type { PodsDb } from './db.ts';

/**
 * `pods.qry.countTenantPods`: how many pods a tenant has, asked by the tenants service before it deletes one.
 * Only services (system actors) and platform admins may ask: this service has no membership data yet to
 * authorise anyone else.
 */
export function registerPodQueries(runtime: ServiceRuntime<PodsDb>): void {
  runtime.serve(
    querySubject('pods', 'countTenantPods'),
    handler(CountTenantPods, async ({ tenantId }, meta): Promise<TenantPodCount> => {
      const system = meta.actor.kind === 'system' && !meta.principal;
      if (!system && !(meta.principal && hasPlatformAdmin(meta.principal))) {
        throw new AppError('forbidden', 'only a service or a platform admin may count the pods of a tenant');
      }
      const row = await runtime.db
        .selectFrom('pods')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .where('tenant_id', '=', tenantId)
        .executeTakeFirstOrThrow();
      return { count: Number(row.count) };
    }),
  );
}
