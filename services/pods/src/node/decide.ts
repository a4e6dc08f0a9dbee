import { AppError, type EventOf, type HeldPort, type PortBinding, type PortSpec, podRef } from '@agentpod/contracts';
import type { Decision } from '@agentpod/kit';
import type { PortRange } from '../env.ts';
import { formatBytes } from '../format.ts';
import { unreachable } from '../never.ts';
import { STALE_PLACEMENT_MS } from '../settings.ts';
import { type Node, type NodeEvents, type NodeState, podKey } from './events.ts';
import { allocatePorts, heldOf, portsHeld, samePorts, unionPorts } from './ports.ts';

export type PodLimits = { memoryBytes: number; cpus: number };

/** What a node offers, from its facts (null memory: it never reported, so nothing limits it yet) and the config. */
export type Capacity = { memoryBytes: number | null; overcommit: number; range: PortRange };

/** Why a placement was refused: the handler tries the next node for `memory` and `ports`, and stops for the rest. */
export type PlacementRefusal = 'memory' | 'ports' | 'busy' | 'removed';

export type NodeCommand =
  | { type: 'AddNode'; nodeId: string; name: string; tenantId: string | undefined }
  | { type: 'RemoveNode' }
  /**
   * Frees what a pod holds. `by`: only if the entry is still the one that event set (undoing one's own
   * placement); `placedBefore`: only if it is older (an abandoned placement).
   */
  | { type: 'ReleasePod'; tenantId: string; podId: string; by?: string; placedBefore?: Date }
  /** After an update: drops the ports in `drop` the pod no longer uses (`keep`), and sets its limits. */
  | { type: 'TrimPlacement'; tenantId: string; podId: string; drop: HeldPort[]; keep: HeldPort[]; limits: PodLimits };

export type PlacementCommand =
  | {
      type: 'PlacePod';
      tenantId: string;
      podId: string;
      ports: readonly PortSpec[];
      limits: PodLimits;
      capacity: Capacity;
      now: Date;
    }
  /** An update: the pod's ports become `ports` (keeping the host ports of `current` that still match). */
  | {
      type: 'ChangePlacement';
      tenantId: string;
      podId: string;
      current: readonly PortBinding[];
      ports: readonly PortSpec[];
      limits: PodLimits;
      capacity: Capacity;
    };

export type PlacementDecision = { events: EventOf<NodeEvents>[]; bindings: PortBinding[] } | AppError;

const noSuchNode = () => new AppError('not_found', 'no such node');

const refuse = (reason: PlacementRefusal, message: string) =>
  new AppError('conflict', message, { details: { reason } });

export const refusalOf = (error: AppError): PlacementRefusal | undefined => {
  const reason = (error.details as { reason?: unknown } | undefined)?.reason;
  return reason === 'memory' || reason === 'ports' || reason === 'busy' || reason === 'removed' ? reason : undefined;
};

function reservedMemory(node: Node, except: string): number {
  return Object.entries(node.placements).reduce((sum, [key, p]) => (key === except ? sum : sum + p.memoryBytes), 0);
}

function roomProblem(node: Node, key: string, memoryBytes: number, capacity: Capacity): string | undefined {
  if (capacity.memoryBytes === null) return undefined;
  const limit = capacity.memoryBytes * capacity.overcommit;
  const reserved = reservedMemory(node, key);
  if (reserved + memoryBytes <= limit) return undefined;
  return `node ${node.name} has no room for ${formatBytes(memoryBytes)} (${formatBytes(reserved)} of ${formatBytes(limit)} reserved)`;
}

const noPorts = (node: Node, count: number, range: PortRange) =>
  refuse('ports', `node ${node.name} has no free host port for ${count} port(s) in ${range.low}-${range.high}`);

/** Placement and port allocation: the bindings come with the events so the caller records them on the pod. */
export function decidePlacement(command: PlacementCommand, state: NodeState): PlacementDecision {
  if (!state.added) return noSuchNode();
  const { tenantId, podId, limits, capacity } = command;
  const key = podKey(tenantId, podId);
  const existing = state.placements[key];
  switch (command.type) {
    case 'PlacePod': {
      if (state.removed) return refuse('removed', `node ${state.name} is removed`);
      if (existing && Date.parse(existing.placedAt) > command.now.getTime() - STALE_PLACEMENT_MS) {
        return refuse('busy', `${podRef(tenantId, podId)} is being created already; try again in a moment`);
      }
      const room = roomProblem(state, key, limits.memoryBytes, capacity);
      if (room) return refuse('memory', room);
      const bindings = allocatePorts({
        specs: command.ports,
        current: [],
        taken: portsHeld(state, key),
        range: capacity.range,
        cursor: state.portCursor,
      });
      if (!bindings) return noPorts(state, command.ports.length, capacity.range);
      const data = { tenantId, podId, ports: heldOf(bindings), ...limits };
      return { bindings, events: [{ type: 'PodPlaced', data, tenantId }] };
    }
    case 'ChangePlacement': {
      if (!existing) return refuse('busy', `${podRef(tenantId, podId)} is not placed on node ${state.name}`);
      if (limits.memoryBytes > existing.memoryBytes) {
        const room = roomProblem(state, key, limits.memoryBytes, capacity);
        if (room) return refuse('memory', room);
      }
      // The pod's own ports stay taken: its running container keeps them until the new generation replaces it.
      const bindings = allocatePorts({
        specs: command.ports,
        current: command.current,
        taken: portsHeld(state),
        range: capacity.range,
        cursor: state.portCursor,
      });
      if (!bindings) return noPorts(state, command.ports.length, capacity.range);
      const ports = unionPorts(existing.ports, heldOf(bindings));
      const memoryBytes = Math.max(existing.memoryBytes, limits.memoryBytes);
      const cpus = Math.max(existing.cpus, limits.cpus);
      const unchanged =
        samePorts(ports, existing.ports) && memoryBytes === existing.memoryBytes && cpus === existing.cpus;
      const data = { tenantId, podId, ports, memoryBytes, cpus };
      return { bindings, events: unchanged ? [] : [{ type: 'PodPlacementChanged', data, tenantId }] };
    }
    default:
      return unreachable(command);
  }
}

export function decideNode(command: NodeCommand, state: NodeState): Decision<NodeEvents> {
  switch (command.type) {
    case 'AddNode': {
      if (state.added) return [];
      const { nodeId, name, tenantId } = command;
      return [{ type: 'NodeAdded', data: { nodeId, name, ...(tenantId ? { tenantId } : {}) }, tenantId }];
    }
    case 'RemoveNode':
      if (!state.added) return noSuchNode();
      return state.removed ? [] : [{ type: 'NodeRemoved', data: {}, tenantId: state.tenantId }];
    case 'ReleasePod': {
      if (!state.added) return [];
      const { tenantId, podId } = command;
      const existing = state.placements[podKey(tenantId, podId)];
      if (!existing) return [];
      if (command.by !== undefined && existing.by !== command.by) return [];
      if (command.placedBefore && Date.parse(existing.placedAt) >= command.placedBefore.getTime()) return [];
      return [{ type: 'PodReleased', data: { tenantId, podId }, tenantId }];
    }
    case 'TrimPlacement': {
      if (!state.added) return [];
      const { tenantId, podId, limits } = command;
      const existing = state.placements[podKey(tenantId, podId)];
      if (!existing) return [];
      const used = (port: HeldPort) => command.keep.some((p) => p.hostPort === port.hostPort);
      const dropped = (port: HeldPort) => command.drop.some((p) => p.hostPort === port.hostPort);
      const ports = existing.ports.filter((port) => used(port) || !dropped(port));
      const unchanged =
        samePorts(ports, existing.ports) &&
        existing.memoryBytes === limits.memoryBytes &&
        existing.cpus === limits.cpus;
      if (unchanged) return [];
      return [{ type: 'PodPlacementChanged', data: { tenantId, podId, ports, ...limits }, tenantId }];
    }
    default:
      return unreachable(command);
  }
}
