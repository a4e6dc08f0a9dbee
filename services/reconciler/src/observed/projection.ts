import {
  agentEvents,
  type EnvelopeOf,
  type EventEnvelope,
  type ObservedContainer,
  PodLabels,
} from '@agentpod/contracts';
import type { Projection } from '@agentpod/kit';
import { type Insertable, sql, type Transaction } from 'kysely';
import { announceChange, jsonb } from '../changes.ts';
import type { ObservedContainersTable, ReconcilerDb } from '../db.ts';

/*
 * AGENT → `observed_containers`: the latest state of every AgentPod-labelled container, per node. Only the latest
 * state is kept (AGENT holds 7 days and agents report everything again on reconnect): an inventory replaces
 * everything known about its node, a container event updates one container, a health verdict updates the run it
 * is about (a verdict on an earlier run is stale and ignored). Every report carries the agent's verdict on the
 * container's current run: `starting` right after a (re)start, null without a check or while it does not run.
 */

type AgentEvent = EnvelopeOf<typeof agentEvents>;
type Tx = Transaction<ReconcilerDb>;

function asAgentEvent(envelope: EventEnvelope): AgentEvent | undefined {
  const schema = agentEvents[envelope.type as keyof typeof agentEvents];
  const data = schema?.safeParse(envelope.data);
  return data?.success ? ({ ...envelope, data: data.data } as AgentEvent) : undefined;
}

function containerRow(nodeId: string, container: ObservedContainer, at: string): Insertable<ObservedContainersTable> {
  return {
    node_id: nodeId,
    container_id: container.id,
    tenant_id: container.tenantId,
    pod_id: container.podId,
    generation: container.generation,
    state: container.state,
    exit_code: container.exitCode,
    started_at: container.startedAt,
    finished_at: container.finishedAt,
    health: container.health,
    // Reports carry no probe error: the one known is kept while the same verdict on the same run stands.
    health_error: null,
    container: jsonb(container),
    observed_at: at,
  };
}

/** Upserts containers as reported, keeping the probe error known for the run and verdict they still show. */
async function upsert(tx: Tx, rows: Insertable<ObservedContainersTable>[]): Promise<void> {
  // One statement touches a row once, and chunks keep a statement under the parameter limit.
  for (let start = 0; start < rows.length; start += 500)
    await tx
      .insertInto('observed_containers')
      .values(rows.slice(start, start + 500))
      .onConflict((c) =>
        c.columns(['node_id', 'container_id']).doUpdateSet((eb) => ({
          tenant_id: eb.ref('excluded.tenant_id'),
          pod_id: eb.ref('excluded.pod_id'),
          generation: eb.ref('excluded.generation'),
          state: eb.ref('excluded.state'),
          exit_code: eb.ref('excluded.exit_code'),
          started_at: eb.ref('excluded.started_at'),
          finished_at: eb.ref('excluded.finished_at'),
          health: eb.ref('excluded.health'),
          health_error: sql<string | null>`case
            when observed_containers.started_at is not distinct from excluded.started_at
             and observed_containers.health is not distinct from excluded.health
            then observed_containers.health_error end`,
          container: eb.ref('excluded.container'),
          observed_at: eb.ref('excluded.observed_at'),
        })),
      )
      .execute();
}

/** Applies one event; true when the node's containers changed. */
async function applyOne(tx: Tx, event: AgentEvent): Promise<boolean> {
  const nodeId = event.aggregateId;
  const at = event.occurredAt;
  const ofNode = (id: string) =>
    tx.updateTable('observed_containers').where('node_id', '=', nodeId).where('container_id', '=', id);
  switch (event.type) {
    case 'NodeConnected':
    case 'NodeDisconnected':
      // Containers keep running while their agent is away; whether a node is reachable comes from heartbeats.
      return false;
    case 'InventoryReported': {
      // One container once, even if a report names it twice.
      const rows = [...new Map(event.data.containers.map((c) => [c.id, containerRow(nodeId, c, at)])).values()];
      const listed = rows.map((row) => row.container_id);
      await tx
        .deleteFrom('observed_containers')
        .where('node_id', '=', nodeId)
        .$if(listed.length > 0, (q) => q.where('container_id', 'not in', listed))
        .execute();
      await upsert(tx, rows);
      return true;
    }
    case 'ContainerChanged': {
      const { container, containerId, action, exitCode } = event.data;
      if (container) {
        await upsert(tx, [containerRow(nodeId, container, at)]);
        return true;
      }
      // No state after the change: gone, or the agent could not look (then the action says enough).
      if (action === 'destroy') {
        await tx
          .deleteFrom('observed_containers')
          .where('node_id', '=', nodeId)
          .where('container_id', '=', containerId)
          .execute();
        return true;
      }
      // Its run times are unknown then: the end is taken as the event's time, the start as unknown.
      if (action === 'die') {
        await ofNode(containerId)
          .set({
            state: 'exited',
            exit_code: exitCode,
            finished_at: at,
            health: null,
            health_error: null,
            observed_at: at,
          })
          .execute();
        return true;
      }
      if (action === 'start') {
        await ofNode(containerId)
          .set({
            state: 'running',
            exit_code: null,
            started_at: null,
            // A new run is probed from scratch, if the container has a check at all.
            health: sql<string | null>`case when container->'labels' ? ${PodLabels.health} then 'starting' end`,
            health_error: null,
            observed_at: at,
          })
          .execute();
        return true;
      }
      return false;
    }
    case 'HealthChanged': {
      const { containerId, startedAt, status, lastError } = event.data;
      if (startedAt === null) return false; // not about a run: nothing to match it to
      const updated = await ofNode(containerId)
        .where('state', '=', 'running')
        .where('started_at', '=', sql<Date>`${startedAt}::timestamptz`)
        .set({ health: status, health_error: lastError, observed_at: at })
        .executeTakeFirst();
      return updated.numUpdatedRows > 0n;
    }
    default: {
      const unknown: never = event;
      throw new Error(`unhandled agent event ${(unknown as AgentEvent).type}`);
    }
  }
}

export const observedProjection: Projection<ReconcilerDb> = {
  name: 'observed_containers',
  context: 'agent',
  async apply(tx, events) {
    let changed = false;
    for (const { envelope } of events) {
      const event = asAgentEvent(envelope);
      if (event && (await applyOne(tx, event))) changed = true;
    }
    if (changed) await announceChange(tx, 'observed');
  },
};
