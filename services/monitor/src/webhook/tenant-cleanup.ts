import { AppError, type RequestMeta, streamName, systemActor, tenantEvents } from '@agentpod/contracts';
import { eventsOf, executeCommand, type Projection } from '@agentpod/kit';
import type { MonitorDb } from '../db.ts';
import type { MonitorDeps } from '../deps.ts';
import { decideRemove } from './aggregate.ts';

/*
 * A deleted tenant's webhooks are removed (WebhookRemoved in the log), so a tenant created later under the same id
 * never posts its alerts to the old tenant's receivers. Runs like the alerter: led and checkpointed by a kit
 * Projector on TENANTS, acting on the log, not one of the read-model projections. Only webhooks added before the
 * deletion are removed: read again from the start (after a replay), an old TenantDeleted leaves the webhooks of a
 * newer tenant of that id alone; and a webhook already removed is simply not found.
 */

const schemas = { TenantDeleted: tenantEvents.TenantDeleted };

export function tenantCleanupProjection(deps: Pick<MonitorDeps, 'runtime' | 'repos'>): Projection<MonitorDb> {
  const { runtime, repos } = deps;
  return {
    name: 'webhook_cleanup',
    context: 'tenants',
    async apply(_tx, stored) {
      for (const event of eventsOf(schemas, stored)) {
        const tenantId = event.tenantId ?? event.aggregateId;
        // Every webhook the log holds now is in the read model before the look-up.
        const last = (await runtime.jsm.streams.info(streamName('monitor'))).state.last_seq;
        await runtime.caughtUp('monitor', last, 30_000);
        const webhooks = await runtime.db
          .selectFrom('webhooks')
          .select('webhook_id')
          .where('tenant_id', '=', tenantId)
          .where('created_at', '<=', new Date(event.occurredAt))
          .execute();
        const meta: RequestMeta = {
          actor: systemActor('monitor'),
          correlationId: event.correlationId,
          causationId: event.id,
          tenantId,
        };
        for (const { webhook_id: webhookId } of webhooks) {
          try {
            await executeCommand({
              store: runtime.store,
              repository: repos.webhooks,
              aggregateId: webhookId,
              meta,
              decide: (state) => decideRemove(state, tenantId, webhookId),
              clock: runtime.clock,
            });
          } catch (error) {
            if (!(error instanceof AppError && error.code === 'not_found')) throw error;
          }
        }
      }
    },
  };
}
