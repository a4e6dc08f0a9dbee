import { AppError, type PortBinding, podRef } from '@agentpod/contracts';
import type { PlacementDecision, PodLimits } from '../node/decide.ts';
import { type NodeState, podKey } from '../node/events.ts';
import { heldOf } from '../node/ports.ts';
import { STALE_PLACEMENT_MS } from '../settings.ts';

/*
 * An adopted pod's place on its node: the host ports its container already publishes, exactly those (a new
 * allocation would mean a restart), claimed in the node's ledger so that no pod is ever given one of them. Pure,
 * decided on the node aggregate like any placement, so a concurrent placement cannot take a port in between.
 * Memory is recorded, not checked: the container runs there already.
 */

export type ClaimPorts = {
  tenantId: string;
  podId: string;
  ports: readonly PortBinding[];
  limits: PodLimits;
  now: Date;
};

export function decideClaim(command: ClaimPorts, state: NodeState): PlacementDecision {
  if (!state.added) return new AppError('not_found', 'no such node');
  const { tenantId, podId, ports, limits, now } = command;
  if (state.removed) return new AppError('conflict', `node ${state.name} is removed`);
  const key = podKey(tenantId, podId);
  const existing = state.placements[key];
  if (existing && Date.parse(existing.placedAt) > now.getTime() - STALE_PLACEMENT_MS)
    return new AppError('conflict', `${podRef(tenantId, podId)} is being created already; try again in a moment`);
  const clashes: string[] = [];
  for (const [other, placement] of Object.entries(state.placements)) {
    if (other === key) continue;
    for (const port of ports)
      if (placement.ports.some((held) => held.hostPort === port.hostPort))
        clashes.push(`host port ${port.hostPort} is held by pod ${podRef(placement.tenantId, placement.podId)}`);
  }
  if (clashes.length > 0)
    return new AppError(
      'conflict',
      `cannot adopt as ${podRef(tenantId, podId)} on node ${state.name}: ${clashes.join('; ')}`,
      { details: { reason: 'ports', clashes } },
    );
  const data = { tenantId, podId, ports: heldOf(ports), memoryBytes: limits.memoryBytes, cpus: limits.cpus };
  return { bindings: [...ports], events: [{ type: 'PodPlaced', data, tenantId }] };
}
