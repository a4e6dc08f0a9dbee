import { agentEvents, type ObservedContainer } from '@agentpod/contracts';
import type { Projection } from '@agentpod/kit';
import type { Transaction } from 'kysely';
import { jsonb, type PodsDb } from '../../db.ts';
import { eventsOf } from '../../events-of.ts';
import { observe } from './observed.ts';

const schemas = {
  InventoryReported: agentEvents.InventoryReported,
  ContainerChanged: agentEvents.ContainerChanged,
  HealthChanged: agentEvents.HealthChanged,
};

/**
 * An inventory forgets the health verdicts of containers it does not list only when they are older than this.
 * An inventory can be a little stale (taken just before a container started, sent after its first verdict), and
 * the agent sends a verdict only when it changes: dropping a fresh one would leave the pod `starting` for good.
 * Verdicts on containers destroyed out of the agent's sight go with a later inventory; destroyed ones at once.
 */
const STALE_VERDICT_MS = 5 * 60_000;

async function upsert(tx: Transaction<PodsDb>, nodeId: string, container: ObservedContainer, at: string) {
  const previous = await tx
    .selectFrom('containers')
    .select(['restarts', 'died'])
    .where('container_id', '=', container.id)
    .executeTakeFirst();
  const history = observe(previous, container.state);
  const row = {
    node_id: nodeId,
    tenant_id: container.tenantId,
    pod_id: container.podId,
    generation: container.generation,
    state: container.state,
    observed: jsonb(container),
    restarts: history.restarts,
    died: history.died,
    updated_at: at,
  };
  await tx
    .insertInto('containers')
    .values({ container_id: container.id, ...row })
    .onConflict((c) => c.column('container_id').doUpdateSet(row))
    .execute();
}

/**
 * `containers`: every AgentPod container as last observed, from AGENT. Latest state only: an inventory replaces
 * what was known of its node (containers it no longer lists are gone), a change updates one container.
 * `container_health`: the agent's latest health verdict per container (HealthChanged), in the same projection so
 * a destroyed container's verdict goes with it.
 */
export const containersProjection: Projection<PodsDb> = {
  name: 'containers',
  context: 'agent',
  async apply(tx, stored) {
    for (const event of eventsOf(schemas, stored)) {
      const nodeId = event.aggregateId;
      if (event.type === 'InventoryReported') {
        const listed = event.data.containers.map((c) => c.id);
        let gone = tx.deleteFrom('containers').where('node_id', '=', nodeId);
        if (listed.length > 0) gone = gone.where('container_id', 'not in', listed);
        await gone.execute();
        const staleBefore = new Date(Date.parse(event.occurredAt) - STALE_VERDICT_MS);
        let forgotten = tx
          .deleteFrom('container_health')
          .where('node_id', '=', nodeId)
          .where('changed_at', '<', staleBefore);
        if (listed.length > 0) forgotten = forgotten.where('container_id', 'not in', listed);
        await forgotten.execute();
        for (const container of event.data.containers) await upsert(tx, nodeId, container, event.occurredAt);
      } else if (event.type === 'HealthChanged') {
        const { containerId, tenantId, podId, generation, startedAt, status, failures, lastError } = event.data;
        const row = {
          node_id: nodeId,
          tenant_id: tenantId,
          pod_id: podId,
          generation,
          started_at: startedAt,
          status,
          failures,
          last_error: lastError,
          changed_at: event.occurredAt,
        };
        await tx
          .insertInto('container_health')
          .values({ container_id: containerId, ...row })
          .onConflict((c) => c.column('container_id').doUpdateSet(row))
          .execute();
      } else if (event.data.container) {
        await upsert(tx, nodeId, event.data.container, event.occurredAt);
      } else {
        await tx.deleteFrom('containers').where('container_id', '=', event.data.containerId).execute();
        await tx.deleteFrom('container_health').where('container_id', '=', event.data.containerId).execute();
      }
    }
  },
};
