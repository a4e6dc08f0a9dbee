import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EventOf, PortSpec } from '@agentpod/contracts';
import { accepted, foldAt, refusedWith } from '../testing/given.ts';
import { type Capacity, decideNode, decidePlacement, type PlacementCommand, refusalOf } from './decide.ts';
import { type Node, type NodeEvents, type NodeState, nodeAggregate } from './events.ts';

const NODE = 'nod_aaaaaaaaaaaaaaaaaaaaaaaa';
const T0 = new Date('2026-03-01T12:00:00.000Z');
const later = (ms: number) => new Date(T0.getTime() + ms);
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

const capacity = (extra: Partial<Capacity> = {}): Capacity => ({
  memoryBytes: 4 * GiB,
  overcommit: 1,
  range: { low: 20_000, high: 20_009 },
  ...extra,
});
const http: PortSpec = { containerPort: 8080, protocol: 'tcp', public: false };
const dns: PortSpec = { containerPort: 53, protocol: 'udp', public: true };

const added: EventOf<NodeEvents> = { type: 'NodeAdded', data: { nodeId: NODE, name: 'alpha' } };
const given = (...events: EventOf<NodeEvents>[]) => foldAt(nodeAggregate, [added, ...events], T0);
const live = (state: NodeState): Node => {
  assert.ok(state.added);
  return state;
};

function place(
  state: NodeState,
  podId: string,
  options: Partial<Omit<Extract<PlacementCommand, { type: 'PlacePod' }>, 'type'>> = {},
) {
  return decidePlacement(
    {
      type: 'PlacePod',
      tenantId: 'acme',
      podId,
      ports: [http],
      limits: { memoryBytes: 256 * MiB, cpus: 0.5 },
      capacity: capacity(),
      now: T0,
      ...options,
    },
    state,
  );
}

/** Places pods one after the other, each deciding on the state the previous one left (as the log serialises them). */
function placeAll(state: NodeState, podIds: string[], at = T0): NodeState {
  return podIds.reduce((current, podId) => {
    const decision = place(current, podId, { now: at });
    if (decision instanceof Error) throw decision;
    return foldAt(nodeAggregate, decision.events, at, current);
  }, state);
}

const heldPorts = (state: NodeState) =>
  Object.values(live(state).placements).flatMap((p) => p.ports.map((port) => port.hostPort));

describe('node aggregate: registry', () => {
  test('a node is added once; removing it twice removes it once', () => {
    const events = accepted(decideNode({ type: 'AddNode', nodeId: NODE, name: 'alpha', tenantId: 'acme' }, given()));
    assert.deepEqual(events, []);
    const fresh = accepted(
      decideNode({ type: 'AddNode', nodeId: NODE, name: 'alpha', tenantId: 'acme' }, nodeAggregate.initialState),
    );
    assert.deepEqual(fresh, [
      { type: 'NodeAdded', data: { nodeId: NODE, name: 'alpha', tenantId: 'acme' }, tenantId: 'acme' },
    ]);
    const removed = given({ type: 'NodeRemoved', data: {} });
    assert.equal(live(removed).removed, true);
    assert.deepEqual(accepted(decideNode({ type: 'RemoveNode' }, removed)), []);
    refusedWith(decideNode({ type: 'RemoveNode' }, nodeAggregate.initialState), 'not_found');
  });
});

describe('node aggregate: placement and ports', () => {
  test('a pod gets one host port per container port from the range, in spec order', () => {
    const decision = place(given(), 'web', { ports: [http, dns] });
    assert.ok(!(decision instanceof Error));
    assert.deepEqual(decision.bindings, [
      { hostPort: 20_000, containerPort: 8080, protocol: 'tcp', hostIp: '127.0.0.1' },
      { hostPort: 20_001, containerPort: 53, protocol: 'udp', hostIp: '0.0.0.0' },
    ]);
    assert.deepEqual(decision.events, [
      {
        type: 'PodPlaced',
        data: {
          tenantId: 'acme',
          podId: 'web',
          ports: [
            { hostPort: 20_000, protocol: 'tcp' },
            { hostPort: 20_001, protocol: 'udp' },
          ],
          memoryBytes: 256 * MiB,
          cpus: 0.5,
        },
        tenantId: 'acme',
      },
    ]);
  });

  test('pods placed one after the other never share a port, until the range is exhausted', () => {
    const pods = Array.from({ length: 10 }, (_, i) => `pod-${i}`);
    const full = placeAll(given(), pods);
    const ports = heldPorts(full);
    assert.equal(new Set(ports).size, 10);
    assert.deepEqual(
      [...ports].sort(),
      Array.from({ length: 10 }, (_, i) => 20_000 + i),
    );
    const refused = refusedWith(place(full, 'pod-10'), 'conflict', /no free host port for 1 port\(s\) in 20000-20009/);
    assert.equal(refusalOf(refused), 'ports');
  });

  test('two decisions on the same state pick the same port: only the log’s concurrency check keeps them apart', () => {
    const state = given();
    const a = place(state, 'a');
    const b = place(state, 'b');
    assert.ok(!(a instanceof Error) && !(b instanceof Error));
    assert.equal(a.bindings[0]?.hostPort, b.bindings[0]?.hostPort);
  });

  test('a released port is not handed out again at once; the cursor wraps around the range', () => {
    const state = placeAll(given(), ['a', 'b']);
    const released = foldAt(
      nodeAggregate,
      [{ type: 'PodReleased', data: { tenantId: 'acme', podId: 'a' } }],
      T0,
      state,
    );
    const next = place(released, 'c');
    assert.ok(!(next instanceof Error));
    assert.equal(next.bindings[0]?.hostPort, 20_002);
    const wrapped = placeAll(released, ['c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k']);
    assert.ok(heldPorts(wrapped).includes(20_000), 'the first port comes back once the cursor wraps');
    assert.equal(new Set(heldPorts(wrapped)).size, 10);
  });

  test('memory: refused beyond node memory × overcommit; unknown memory does not limit', () => {
    const state = placeAll(given(), ['a', 'b', 'c']);
    const big = { memoryBytes: 3.5 * GiB, cpus: 1 };
    const refused = refusedWith(
      place(state, 'big', { limits: big }),
      'conflict',
      /node alpha has no room for 3\.5 GiB/,
    );
    assert.equal(refusalOf(refused), 'memory');
    assert.ok(!(place(state, 'big', { limits: big, capacity: capacity({ overcommit: 2 }) }) instanceof Error));
    assert.ok(!(place(state, 'big', { limits: big, capacity: capacity({ memoryBytes: null }) }) instanceof Error));
  });

  test('a removed node takes no pod', () => {
    const refused = refusedWith(place(given({ type: 'NodeRemoved', data: {} }), 'web'), 'conflict', /is removed/);
    assert.equal(refusalOf(refused), 'removed');
  });

  test('a pod being placed is refused a second placement; an abandoned one is taken over after a while', () => {
    const state = placeAll(given(), ['web']);
    assert.equal(refusalOf(refusedWith(place(state, 'web', { now: later(1_000) }), 'conflict')), 'busy');
    const again = place(state, 'web', { now: later(120_000) });
    assert.ok(!(again instanceof Error));
    assert.equal(again.events[0]?.type, 'PodPlaced');
  });
});

describe('node aggregate: releases', () => {
  test('a compensation releases only the entry it made', () => {
    const decision = place(given(), 'web');
    assert.ok(!(decision instanceof Error));
    const state = given(...decision.events);
    const by = live(state).placements['acme/web']?.by ?? '';
    const release = { type: 'ReleasePod', tenantId: 'acme', podId: 'web' } as const;
    assert.deepEqual(accepted(decideNode({ ...release, by: 'someone-else' }, state)), []);
    assert.deepEqual(accepted(decideNode({ ...release, by }, state)), [
      { type: 'PodReleased', data: { tenantId: 'acme', podId: 'web' }, tenantId: 'acme' },
    ]);
    assert.deepEqual(accepted(decideNode({ ...release, podId: 'other' }, state)), []);
  });

  test('an abandoned placement is released only once it is old enough', () => {
    const state = placeAll(given(), ['web']);
    const release = { type: 'ReleasePod', tenantId: 'acme', podId: 'web' } as const;
    assert.deepEqual(accepted(decideNode({ ...release, placedBefore: T0 }, state)), []);
    assert.equal(accepted(decideNode({ ...release, placedBefore: later(1) }, state)).length, 1);
  });
});

describe('node aggregate: updates', () => {
  const current = [{ hostPort: 20_000, containerPort: 8080, protocol: 'tcp' as const, hostIp: '127.0.0.1' as const }];
  const change = (state: NodeState, ports: PortSpec[], memoryBytes = 256 * MiB) =>
    decidePlacement(
      {
        type: 'ChangePlacement',
        tenantId: 'acme',
        podId: 'web',
        current,
        ports,
        limits: { memoryBytes, cpus: 0.5 },
        capacity: capacity(),
      },
      state,
    );

  test('an update keeps the host ports of unchanged container ports and holds old and new while it runs', () => {
    const state = placeAll(given(), ['web', 'other']);
    const decision = change(state, [http, dns]);
    assert.ok(!(decision instanceof Error));
    assert.deepEqual(
      decision.bindings.map((b) => b.hostPort),
      [20_000, 20_002],
    );
    const during = foldAt(nodeAggregate, decision.events, T0, state);
    assert.deepEqual(
      live(during).placements['acme/web']?.ports.map((p) => p.hostPort),
      [20_000, 20_002],
    );
  });

  test('replacing a port holds both until trimmed; after success the old goes, after failure the new', () => {
    const state = placeAll(given(), ['web']);
    const decision = change(state, [{ containerPort: 9090, protocol: 'tcp', public: false }]);
    assert.ok(!(decision instanceof Error));
    const during = foldAt(nodeAggregate, decision.events, T0, state);
    assert.deepEqual(
      live(during).placements['acme/web']?.ports.map((p) => p.hostPort),
      [20_000, 20_001],
    );
    const trim = (drop: number[], keep: number[]) =>
      decideNode(
        {
          type: 'TrimPlacement',
          tenantId: 'acme',
          podId: 'web',
          drop: drop.map((hostPort) => ({ hostPort, protocol: 'tcp' })),
          keep: keep.map((hostPort) => ({ hostPort, protocol: 'tcp' })),
          limits: { memoryBytes: 256 * MiB, cpus: 0.5 },
        },
        during,
      );
    const succeeded = foldAt(nodeAggregate, accepted(trim([20_000], [20_001])), T0, during);
    assert.deepEqual(
      live(succeeded).placements['acme/web']?.ports.map((p) => p.hostPort),
      [20_001],
    );
    const failed = foldAt(nodeAggregate, accepted(trim([20_001], [20_000])), T0, during);
    assert.deepEqual(
      live(failed).placements['acme/web']?.ports.map((p) => p.hostPort),
      [20_000],
    );
  });

  test('a trim never drops a port the pod uses, nor one another update added meanwhile', () => {
    const state = placeAll(given(), ['web']);
    const first = change(state, [{ containerPort: 9090, protocol: 'tcp', public: false }]);
    assert.ok(!(first instanceof Error));
    const afterFirst = foldAt(nodeAggregate, first.events, T0, state);
    const second = change(afterFirst, [{ containerPort: 9191, protocol: 'tcp', public: false }]);
    assert.ok(!(second instanceof Error));
    const afterBoth = foldAt(nodeAggregate, second.events, T0, afterFirst);
    // The first update failed: it drops only its own new port.
    const trimmed = decideNode(
      {
        type: 'TrimPlacement',
        tenantId: 'acme',
        podId: 'web',
        drop: [{ hostPort: 20_001, protocol: 'tcp' }],
        keep: [{ hostPort: 20_000, protocol: 'tcp' }],
        limits: { memoryBytes: 256 * MiB, cpus: 0.5 },
      },
      afterBoth,
    );
    const result = foldAt(nodeAggregate, accepted(trimmed), T0, afterBoth);
    assert.deepEqual(
      live(result).placements['acme/web']?.ports.map((p) => p.hostPort),
      [20_000, 20_002],
    );
  });

  test('raising a pod’s memory beyond the node’s room is refused: pods do not move', () => {
    const state = placeAll(given(), ['web']);
    refusedWith(change(state, [http], 8 * GiB), 'conflict', /no room for 8 GiB/);
    assert.ok(!(change(state, [http], 1 * GiB) instanceof Error));
  });
});
