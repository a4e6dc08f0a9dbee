import { type EnvelopeOf, type HeldPort, nodeEvents } from '@agentpod/contracts';
import type { AggregateDefinition } from '@agentpod/kit';
import { unreachable } from '../never.ts';

/**
 * The node aggregate (`pods.evt.<nodeId>`): the registry entry and the ledger of what placed pods hold there.
 * Placement and host-port allocation are decided on it, so optimistic concurrency on its one subject makes two
 * concurrent placements see each other: they can never share a port.
 */
export const nodeAggregateEvents = nodeEvents;
export type NodeEvents = typeof nodeAggregateEvents;
export type NodeEvent = EnvelopeOf<NodeEvents>;

/** What one placed pod holds on the node. */
export type Placement = {
  tenantId: string;
  podId: string;
  ports: HeldPort[];
  memoryBytes: number;
  cpus: number;
  placedAt: string;
  /** The id of the event that last set this entry: a compensation undoes only its own change. */
  by: string;
};

export type Node = {
  nodeId: string;
  name: string;
  tenantId: string | undefined;
  removed: boolean;
  createdAt: string;
  /** By `podKey(tenantId, podId)`. */
  placements: Readonly<Record<string, Placement>>;
  /** Where the search for the next free host port starts: just after the last one handed out. */
  portCursor: number | undefined;
};

export type NodeState = { added: false } | ({ added: true } & Node);

export const initialNodeState: NodeState = { added: false };

export const podKey = (tenantId: string, podId: string): string => `${tenantId}/${podId}`;

/** The cursor after an event that holds `ports`: past the last port that was not held before. */
function cursorAfter(node: Node, previous: readonly HeldPort[], ports: readonly HeldPort[]): number | undefined {
  const fresh = ports.filter((port) => !previous.some((old) => old.hostPort === port.hostPort));
  const last = fresh.at(-1);
  return last ? last.hostPort + 1 : node.portCursor;
}

export function evolveNode(state: NodeState, event: NodeEvent): NodeState {
  if (event.type === 'NodeAdded') {
    if (state.added) return state;
    const { nodeId, name, tenantId } = event.data;
    return {
      added: true,
      nodeId,
      name,
      tenantId,
      removed: false,
      createdAt: event.occurredAt,
      placements: {},
      portCursor: undefined,
    };
  }
  if (!state.added) return state;
  switch (event.type) {
    case 'PodPlaced':
    case 'PodPlacementChanged': {
      const { tenantId, podId, ports, memoryBytes, cpus } = event.data;
      const key = podKey(tenantId, podId);
      const previous = state.placements[key];
      const placement: Placement = {
        tenantId,
        podId,
        ports,
        memoryBytes,
        cpus,
        placedAt: event.type === 'PodPlaced' || !previous ? event.occurredAt : previous.placedAt,
        by: event.id,
      };
      return {
        ...state,
        placements: { ...state.placements, [key]: placement },
        portCursor: cursorAfter(state, previous?.ports ?? [], ports),
      };
    }
    case 'PodReleased': {
      const { [podKey(event.data.tenantId, event.data.podId)]: _released, ...placements } = state.placements;
      return { ...state, placements };
    }
    case 'NodeRemoved':
      return { ...state, removed: true };
    default:
      return unreachable(event);
  }
}

export const nodeAggregate: AggregateDefinition<NodeState, NodeEvents> = {
  context: 'pods',
  events: nodeAggregateEvents,
  initialState: initialNodeState,
  evolve: evolveNode,
};
