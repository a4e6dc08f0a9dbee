import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type ContainerDescription,
  type Encrypted,
  type EventOf,
  POD_ACCESS_TOKEN_ENV,
  type PortBinding,
} from '@agentpod/contracts';
import { type NodeEvents, type NodeState, nodeAggregate } from '../node/events.ts';
import { accepted, foldAt, refusedWith, thrown } from '../testing/given.ts';
import { decideClaim } from './adopt-placement.ts';
import { planAdoption } from './adopt-spec.ts';
import { decidePod, type PodCommand } from './decide.ts';
import { type PodEvents, type PodState, podAggregate } from './events.ts';
import { parseUpdate } from './spec.ts';

const T0 = new Date('2026-03-01T12:00:00.000Z');
const NODE = 'nod_aaaaaaaaaaaaaaaaaaaaaaaa';
const MiB = 1024 * 1024;
const sealed = (text: string): Encrypted => ({ v: 1, iv: 'aXZpdml2aXZpdml2', tag: 'dGFn', data: btoa(text) });

/** `docker run -d --restart unless-stopped -p 18080:8080 -v data:/data -v /srv/x:/x -e DB_PASSWORD=… node-app`. */
const described = (overrides: Partial<ContainerDescription> = {}): ContainerDescription => ({
  container: {
    id: 'f'.repeat(64),
    name: 'legacy',
    image: 'agentpod-test/node:1',
    state: 'running',
    createdAt: T0.toISOString(),
    startedAt: T0.toISOString(),
    ports: [{ containerPort: 8080, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 18_080 }],
    mounts: [
      { type: 'volume', source: 'data', destination: '/data', readOnly: false },
      { type: 'bind', source: '/srv/x', destination: '/x', readOnly: true },
      { type: 'tmpfs', source: '', destination: '/run', readOnly: false },
    ],
    envKeys: ['DB_PASSWORD', 'MODE'],
  },
  cmd: null,
  entrypoint: null,
  env: { DB_PASSWORD: 'hunter2', MODE: 'prod' },
  restartPolicy: 'unless-stopped',
  limits: { memoryBytes: 512 * MiB, cpus: 1, pids: null },
  escalations: [],
  ...overrides,
});

describe('adoption: the pod a running container becomes', () => {
  test('what runs, recorded: image, env as secrets, its own host ports, volumes and binds kept, restart', () => {
    const plan = planAdoption(described());
    assert.equal(plan.spec.image, 'agentpod-test/node:1');
    assert.equal(plan.spec.cmd, undefined, 'the image’s own command');
    assert.deepEqual(plan.spec.env, {}, 'no value in the spec, which every viewer reads');
    assert.deepEqual(plan.spec.secretNames, ['DB_PASSWORD', 'MODE']);
    assert.deepEqual(plan.secretValues, { DB_PASSWORD: 'hunter2', MODE: 'prod' });
    assert.deepEqual(plan.ports, [{ hostPort: 18_080, containerPort: 8080, protocol: 'tcp', hostIp: '0.0.0.0' }]);
    assert.deepEqual(plan.spec.ports, [{ containerPort: 8080, protocol: 'tcp', public: true }]);
    assert.equal(plan.spec.volume, undefined, 'its data stays where it is: kept mounts');
    assert.deepEqual(plan.keptMounts, [
      { type: 'volume', source: 'data', destination: '/data', readOnly: false },
      { type: 'bind', source: '/srv/x', destination: '/x', readOnly: true },
    ]);
    assert.deepEqual(plan.spec.limits, { memoryBytes: 512 * MiB, cpus: 1, pids: 256 });
    assert.equal(plan.spec.restart, 'always');
    assert.deepEqual(plan.notes, [
      'pids: unlimited, recorded as 256 (the default) from the next generation on',
      'tmpfs at /run: not kept (nothing in it outlives the container)',
    ]);
  });

  test('what a pod cannot hold as it is: the nearest thing, with a note', () => {
    const plan = planAdoption(
      described({
        cmd: ['node', 'other.js'],
        env: { [POD_ACCESS_TOKEN_ENV]: 'old' },
        restartPolicy: 'no',
        limits: { memoryBytes: null, cpus: 128, pids: 8 },
      }),
    );
    assert.deepEqual(plan.spec.cmd, ['node', 'other.js']);
    assert.deepEqual(plan.secretValues, {});
    assert.equal(plan.spec.restart, 'never');
    assert.deepEqual(plan.spec.limits, { memoryBytes: 256 * MiB, cpus: 64, pids: 16 });
    assert.equal(plan.notes.length, 6, plan.notes.join('\n'));
    assert.ok(plan.notes.some((note) => note.startsWith('memory: unlimited, recorded as 256 MiB')));
  });

  test('refused, saying why: escalations, an entrypoint of its own, ports a pod cannot have', () => {
    refusedWith(
      thrown(() => planAdoption(described({ escalations: ['runs privileged', 'mounts the Docker socket'] }))),
      'forbidden',
      /legacy runs privileged; mounts the Docker socket/,
    );
    refusedWith(
      thrown(() => planAdoption(described({ entrypoint: ['/init'] }))),
      'invalid',
      /entrypoint/,
    );
    const withPort = (port: Partial<ContainerDescription['container']['ports'][number]>) =>
      described({
        container: {
          ...described().container,
          ports: [{ containerPort: 8080, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 18_080, ...port }],
        },
      });
    refusedWith(
      thrown(() => planAdoption(withPort({ hostPort: 80 }))),
      'invalid',
      /host port 80/,
    );
    refusedWith(
      thrown(() => planAdoption(withPort({ hostPort: 0 }))),
      'invalid',
      /random host port/,
    );
    refusedWith(
      thrown(() => planAdoption(withPort({ hostIp: '10.0.0.5' }))),
      'invalid',
      /10\.0\.0\.5/,
    );
    const oddMount = described({
      container: {
        ...described().container,
        mounts: [{ type: 'bind', source: '/x', destination: '/proc/x', readOnly: false }],
      },
    });
    refusedWith(
      thrown(() => planAdoption(oddMount)),
      'invalid',
      /\/proc\/x/,
    );
    refusedWith(
      thrown(() => planAdoption(described({ env: { 'bad.key': 'x' } }))),
      'invalid',
    );
  });
});

describe('adoption: the pod aggregate and the node ledger', () => {
  const plan = planAdoption(described());
  const adopt: PodCommand = {
    type: 'AdoptPod',
    tenantId: 'acme',
    podId: 'legacy',
    nodeId: NODE,
    spec: plan.spec,
    secrets: { DB_PASSWORD: sealed('hunter2'), MODE: sealed('prod') },
    ports: plan.ports,
    keptMounts: plan.keptMounts,
    accessToken: sealed('apa_token'),
    containerId: 'f'.repeat(64),
  };
  const given = (...events: EventOf<PodEvents>[]): PodState => foldAt(podAggregate, events, T0);

  test('PodAdopted: generation 1, running, the container and its kept mounts; a later update keeps them', () => {
    const state = given(...accepted(decidePod(adopt, podAggregate.initialState)));
    assert.equal(state.status, 'live');
    if (state.status !== 'live') return;
    assert.equal(state.generation, 1);
    assert.deepEqual(state.adopted, { containerId: 'f'.repeat(64), generation: 1 });
    assert.deepEqual(state.keptMounts, plan.keptMounts);
    assert.equal(state.volumeName, null);
    const patch = parseUpdate({ tenantId: 'acme', podId: 'legacy', image: 'agentpod-test/node:1', env: { X: '1' } });
    const updated = foldAt(
      podAggregate,
      accepted(decidePod({ type: 'UpdatePod', tenantId: 'acme', podId: 'legacy', patch, secrets: {} }, state)),
      T0,
      state,
    );
    assert.equal(updated.status === 'live' && updated.generation, 2);
    assert.deepEqual(updated.status === 'live' && updated.keptMounts, plan.keptMounts);
  });

  test('a live pod of that id refuses; a deleted one’s id continues its generations', () => {
    const state = given(...accepted(decidePod(adopt, podAggregate.initialState)));
    refusedWith(decidePod(adopt, state), 'conflict', /exists already/);
    const deleted = foldAt(
      podAggregate,
      accepted(decidePod({ type: 'DeletePod', tenantId: 'acme', podId: 'legacy', keepVolume: true }, state)),
      T0,
      state,
    );
    const [again] = accepted(decidePod(adopt, deleted));
    assert.equal(again?.type === 'PodAdopted' && again.data.generation, 2);
  });

  const node = (...events: EventOf<NodeEvents>[]): NodeState => foldAt(nodeAggregate, events, T0);
  const added = node({ type: 'NodeAdded', data: { nodeId: NODE, name: 'n1' }, tenantId: undefined });
  const claim = (ports: PortBinding[], podId = 'legacy', now = T0) => ({
    tenantId: 'acme',
    podId,
    ports,
    limits: { memoryBytes: 256 * MiB, cpus: 0.5 },
    now,
  });

  test('the ledger: its exact host ports are claimed; another pod’s port refuses naming it', () => {
    const decision = decideClaim(claim(plan.ports), added);
    assert.ok(!(decision instanceof Error));
    assert.deepEqual(decision.bindings, plan.ports);
    const held = foldAt(nodeAggregate, decision.events, T0, added);
    const clash = decideClaim(claim(plan.ports, 'other'), held);
    refusedWith(clash, 'conflict', /host port 18080 is held by pod acme\/legacy/);
    refusedWith(decideClaim(claim(plan.ports), nodeAggregate.initialState), 'not_found');
  });
});
