import { agentEvents, type EnvelopeOf, type EventEnvelope, type ObservedContainer } from '@agentpod/contracts';
import type { Projection } from '@agentpod/kit';
import type { Insertable, Transaction } from 'kysely';
import { announceChange, jsonb } from '../changes.ts';
import type { ObservedContainersTable, ReconcilerDb } from '../db.ts';

/*
 * AGENT → `observed_containers`: the latest state of every AgentPod-labelled container, per node. Only the latest
 * state is kept (AGENT holds 7 days and agents report everything again on reconnect): an inventory replaces
 * everything known about its node, a container event updates one container.
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
    container: jsonb(container),
    observed_at: at,
  };
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
      await tx.deleteFrom('observed_containers').where('node_id', '=', nodeId).execute();
      // One container once, even if a report names it twice; chunks keep a statement under the parameter limit.
      const rows = [...new Map(event.data.containers.map((c) => [c.id, containerRow(nodeId, c, at)])).values()];
      for (let start = 0; start < rows.length; start += 500)
        await tx
          .insertInto('observed_containers')
          .values(rows.slice(start, start + 500))
          .execute();
      return true;
    }
    case 'ContainerChanged': {
      const { container, containerId, action, exitCode } = event.data;
      if (container) {
        const row = containerRow(nodeId, container, at);
        const { node_id: _node, container_id: _id, ...changes } = row;
        await tx
          .insertInto('observed_containers')
          .values(row)
          .onConflict((c) => c.columns(['node_id', 'container_id']).doUpdateSet(changes))
          .execute();
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
      if (action === 'die') {
        await ofNode(containerId).set({ state: 'exited', exit_code: exitCode, observed_at: at }).execute();
        return true;
      }
      if (action === 'start') {
        await ofNode(containerId).set({ state: 'running', observed_at: at }).execute();
        return true;
      }
      return false;
    }
    case 'HealthChanged':
      // Probe verdicts: not acted upon yet (restarting unhealthy pods comes with issue 5).
      return false;
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
