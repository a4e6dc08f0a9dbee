import { agentEvents } from '@agentpod/contracts';
import type { Projection } from '@agentpod/kit';
import { jsonb, type PodsDb } from '../../db.ts';
import { eventsOf } from '../../events-of.ts';

const schemas = { NodeConnected: agentEvents.NodeConnected, NodeDisconnected: agentEvents.NodeDisconnected };

/**
 * `node_agents`: each node's latest facts and when its socket last opened and closed, from AGENT (one aggregate
 * per node, appended by the gateway). Upserts only: agents report again on every connection.
 */
export const nodeAgentsProjection: Projection<PodsDb> = {
  name: 'node_agents',
  context: 'agent',
  async apply(tx, stored) {
    for (const event of eventsOf(schemas, stored)) {
      const nodeId = event.aggregateId;
      if (event.type === 'NodeConnected') {
        const row = { facts: jsonb(event.data.facts), connected_at: event.occurredAt };
        await tx
          .insertInto('node_agents')
          .values({ node_id: nodeId, ...row, disconnected_at: null, disconnect_reason: null })
          .onConflict((c) => c.column('node_id').doUpdateSet(row))
          .execute();
      } else {
        const row = { disconnected_at: event.occurredAt, disconnect_reason: event.data.reason };
        await tx
          .insertInto('node_agents')
          .values({ node_id: nodeId, facts: jsonb(null), connected_at: null, ...row })
          .onConflict((c) => c.column('node_id').doUpdateSet(row))
          .execute();
      }
    }
  },
};
