import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ObservedContainer, PodSpec } from '@agentpod/contracts';
import type { Liveness } from '../../node/liveness.ts';
import { observe } from './observed.ts';
import { type ContainerRow, type PodFacts, podHealth, podStatus, podView } from './view.ts';

const T0 = new Date('2026-03-01T12:00:00.000Z');
const online: Liveness = { status: 'online', lastSeenAt: T0.toISOString() };
const unreachable: Liveness = { status: 'unreachable', lastSeenAt: T0.toISOString() };

const observed = (state: ObservedContainer['state'], extra: Partial<ObservedContainer> = {}): ContainerRow => ({
  container_id: 'c1',
  state,
  restarts: 0,
  observed: {
    id: 'c1',
    name: 'agentpod-acme_web-g1',
    tenantId: 'acme',
    podId: 'web',
    generation: 1,
    image: 'agentpod-test/node:1',
    imageId: 'sha256:x',
    state,
    pid: null,
    exitCode: null,
    oomKilled: false,
    error: null,
    createdAt: T0.toISOString(),
    startedAt: T0.toISOString(),
    finishedAt: null,
    restartCount: 0,
    ports: [],
    health: null,
    volume: null,
    labels: {},
    ...extra,
  },
});

const facts = (extra: Partial<PodFacts> = {}): PodFacts => ({
  pod: {
    tenant_id: 'acme',
    pod_id: 'web',
    node_id: 'nod_aaaaaaaaaaaaaaaaaaaaaaaa',
    generation: 1,
    desired: 'running',
    spec: PodSpec.parse({ image: 'agentpod-test/node:1' }),
    ports: [],
    created_at: T0,
    updated_at: T0,
    deleted_at: null,
  },
  nodeName: 'alpha',
  node: online,
  container: undefined,
  action: undefined,
  recoveries: 0,
  failing: undefined,
  ...extra,
});
const failed = { generation: 1, ok: false, error: { code: 'internal', message: 'pull access denied for nope' } };

describe('pod status rules', () => {
  test('no container: pending, saying why', () => {
    assert.deepEqual(podStatus(facts({ node: unreachable })), { status: 'pending', message: 'node unreachable' });
    assert.deepEqual(podStatus(facts({ node: { status: 'removed', lastSeenAt: null } })), {
      status: 'pending',
      message: 'node removed',
    });
    assert.equal(podStatus(facts()).status, 'pending');
  });

  test('a failed action on the current generation is failed with Docker’s words; an older one is not', () => {
    assert.deepEqual(podStatus(facts({ action: failed })), {
      status: 'failed',
      message: 'pull access denied for nope',
    });
    assert.equal(podStatus(facts({ action: { ...failed, generation: 0 } })).status, 'pending');
    assert.equal(podStatus(facts({ action: { ...failed, ok: true, error: null } })).status, 'pending');
  });

  test('the container’s state: running, exited (with why), creating; stopped on purpose reads stopped', () => {
    assert.equal(podStatus(facts({ container: observed('running') })).status, 'running');
    assert.deepEqual(podStatus(facts({ container: observed('exited', { exitCode: 3 }) })), {
      status: 'exited',
      message: 'exit code 3',
    });
    assert.equal(podStatus(facts({ container: observed('created') })).status, 'creating');
    const stopped = facts({ pod: { ...facts().pod, desired: 'stopped' }, container: observed('exited') });
    assert.equal(podStatus(stopped).status, 'stopped');
    assert.equal(podStatus({ ...stopped, container: undefined, node: unreachable }).status, 'stopped');
  });

  test('on an unreachable node: the last state seen, saying the node is unreachable', () => {
    assert.deepEqual(podStatus(facts({ node: unreachable, container: observed('running') })), {
      status: 'running',
      message: 'node unreachable',
    });
    assert.deepEqual(podStatus(facts({ node: unreachable, container: observed('exited', { exitCode: 3 }) })), {
      status: 'exited',
      message: 'node unreachable; exit code 3',
    });
  });

  test('marked failing by the reconciler: failing with its summary, until it recovers; stopped wins', () => {
    const failing = { generation: 1, summary: 'exited with code 1 4 times in a row; next try in 8 s' };
    assert.deepEqual(podStatus(facts({ failing, container: observed('exited', { exitCode: 1 }) })), {
      status: 'failing',
      message: failing.summary,
    });
    assert.equal(podStatus(facts({ failing, container: observed('running'), node: unreachable })).status, 'failing');
    const stopped = facts({ pod: { ...facts().pod, desired: 'stopped' }, failing, container: observed('exited') });
    assert.equal(podStatus(stopped).status, 'stopped');
    assert.equal(podStatus(facts({ container: observed('running') })).status, 'running');
  });

  test('the view carries the spec, the container and its restarts: the recoveries, not the container’s count', () => {
    const view = podView(facts({ container: { ...observed('running'), restarts: 2 }, recoveries: 3 }));
    assert.equal(view.status, 'running');
    assert.equal(view.restarts, 3);
    assert.equal(view.containerId, 'c1');
    assert.equal(view.health, 'unknown');
    assert.equal(view.nodeName, 'alpha');
  });
});

describe('pod health', () => {
  const spec = PodSpec.parse({
    image: 'agentpod-test/node:1',
    ports: [{ containerPort: 8080 }],
    health: { type: 'http', path: '/healthz' },
  });
  const run = T0.toISOString();
  const verdict = (status: 'starting' | 'healthy' | 'unhealthy', started_at: string | null = run) => ({
    started_at,
    status,
  });

  test('the agent’s latest verdict on the current run; starting until there is one', () => {
    assert.equal(podHealth(spec, observed('running')), 'starting');
    assert.equal(podHealth(spec, { ...observed('running'), health: verdict('healthy') }), 'healthy');
    assert.equal(podHealth(spec, { ...observed('running'), health: verdict('unhealthy') }), 'unhealthy');
  });

  test('a verdict about an earlier run of the container (before a restart) does not count', () => {
    const earlier = verdict('unhealthy', '2026-03-01T11:00:00.000Z');
    assert.equal(podHealth(spec, { ...observed('running'), health: earlier }), 'starting');
  });

  test('unknown without a check, without a container, or while the container does not run', () => {
    const noCheck = PodSpec.parse({ image: 'agentpod-test/node:1' });
    assert.equal(podHealth(noCheck, { ...observed('running'), health: verdict('healthy') }), 'unknown');
    assert.equal(podHealth(spec, undefined), 'unknown');
    assert.equal(podHealth(spec, { ...observed('exited'), health: verdict('healthy') }), 'unknown');
  });

  test('the view carries it', () => {
    const view = podView(
      facts({ pod: { ...facts().pod, spec }, container: { ...observed('running'), health: verdict('healthy') } }),
    );
    assert.equal(view.health, 'healthy');
  });
});

describe('restart counting', () => {
  test('a container counts a restart each time it runs again after its process ended', () => {
    const states = ['created', 'running', 'exited', 'running', 'running', 'dead', 'running'] as const;
    const history = states.reduce<ReturnType<typeof observe> | undefined>((h, s) => observe(h, s), undefined);
    assert.deepEqual(history, { restarts: 2, died: false });
  });
});
