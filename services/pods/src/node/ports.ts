import { type HeldPort, hostIpFor, type PortBinding, type PortSpec } from '@agentpod/contracts';
import type { PortRange } from '../env.ts';
import type { Node } from './events.ts';

/*
 * Host-port allocation, pure. A host port is held by at most one pod of a node whatever the protocol (tcp 20001
 * and udp 20001 are never given to two pods), which keeps the ledger simple to read. Ports are handed out from a
 * cursor that moves past the last one given, so a port just released is not handed out again at once, while the
 * deleted pod's container may still be stopping on it.
 */

/** Every host port held on the node, but for the pod `except` (a `podKey`) when given. */
export function portsHeld(node: Node, except?: string): Set<number> {
  const held = new Set<number>();
  for (const [key, placement] of Object.entries(node.placements)) {
    if (key === except) continue;
    for (const port of placement.ports) held.add(port.hostPort);
  }
  return held;
}

/**
 * Bindings for `specs`, in their order: a port keeps its host port from `current` when `current` binds the same
 * container port and protocol; any other gets the next free host port from the cursor on, wrapping around the
 * range. undefined when the range has too few free ports.
 */
export function allocatePorts(options: {
  specs: readonly PortSpec[];
  current: readonly PortBinding[];
  taken: ReadonlySet<number>;
  range: PortRange;
  cursor: number | undefined;
}): PortBinding[] | undefined {
  const { specs, current, range } = options;
  const taken = new Set(options.taken);
  const size = range.high - range.low + 1;
  let next =
    options.cursor !== undefined && options.cursor >= range.low && options.cursor <= range.high
      ? options.cursor
      : range.low;
  const bindings: PortBinding[] = [];
  for (const spec of specs) {
    const kept = current.find((b) => b.containerPort === spec.containerPort && b.protocol === spec.protocol);
    if (kept) {
      bindings.push({ ...kept, hostIp: hostIpFor(spec) });
      taken.add(kept.hostPort);
      continue;
    }
    let found: number | undefined;
    for (let i = 0; i < size; i++) {
      const candidate = range.low + ((next - range.low + i) % size);
      if (!taken.has(candidate)) {
        found = candidate;
        break;
      }
    }
    if (found === undefined) return undefined;
    taken.add(found);
    next = found + 1 > range.high ? range.low : found + 1;
    bindings.push({
      hostPort: found,
      containerPort: spec.containerPort,
      protocol: spec.protocol,
      hostIp: hostIpFor(spec),
    });
  }
  return bindings;
}

export const heldOf = (bindings: readonly PortBinding[]): HeldPort[] =>
  bindings.map(({ hostPort, protocol }) => ({ hostPort, protocol }));

/** `ports` followed by those of `extra` not in it, by host port. */
export function unionPorts(ports: readonly HeldPort[], extra: readonly HeldPort[]): HeldPort[] {
  return [...ports, ...extra.filter((port) => !ports.some((p) => p.hostPort === port.hostPort))];
}

export const samePorts = (a: readonly HeldPort[], b: readonly HeldPort[]): boolean =>
  a.length === b.length && a.every((port, i) => port.hostPort === b[i]?.hostPort && port.protocol === b[i]?.protocol);
