import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Encrypted, type EventOf, PodSpec, type PortBinding } from '@agentpod/contracts';
import { accepted, foldAt, refusedWith } from '../testing/given.ts';
import { decidePod, type PodCommand } from './decide.ts';
import { type PodEvents, type PodState, podAggregate } from './events.ts';
import { parseUpdate } from './spec.ts';

const T0 = new Date('2026-03-01T12:00:00.000Z');
const NODE = 'nod_aaaaaaaaaaaaaaaaaaaaaaaa';
const key = { tenantId: 'acme', podId: 'web' };
const sealed = (text: string): Encrypted => ({
  v: 1,
  iv: 'aXZpdml2aXZpdml2',
  tag: 'dGFn',
  data: Buffer.from(text).toString('base64'),
});
const ports: PortBinding[] = [{ hostPort: 20_000, containerPort: 8080, protocol: 'tcp', hostIp: '127.0.0.1' }];
const spec = PodSpec.parse({
  image: 'agentpod-test/node:1',
  env: { A: '1' },
  secretNames: ['KEY'],
  ports: [{ containerPort: 8080 }],
  volume: { mountPath: '/data' },
});

const createCommand: PodCommand = {
  type: 'CreatePod',
  ...key,
  nodeId: NODE,
  spec,
  secrets: { KEY: sealed('value') },
  ports,
  volumeName: 'agentpod-acme_web',
  accessToken: sealed('apa_token'),
};

const decide = (command: PodCommand, state: PodState) => decidePod(command, state);
const given = (...events: EventOf<PodEvents>[]): PodState => foldAt(podAggregate, events, T0);
const created = () => given(...accepted(decide(createCommand, podAggregate.initialState)));
const apply = (state: PodState, command: PodCommand) =>
  foldAt(podAggregate, accepted(decide(command, state)), T0, state);
const live = (state: PodState) => {
  assert.equal(state.status, 'live');
  return state as Extract<PodState, { status: 'live' }>;
};

describe('pod aggregate: creation and deletion', () => {
  test('a new pod is generation 1, running, with its secrets and token as given (ciphertexts)', () => {
    const [event] = accepted(decide(createCommand, podAggregate.initialState));
    assert.equal(event?.type, 'PodCreated');
    const pod = live(created());
    assert.equal(pod.generation, 1);
    assert.equal(pod.desired, 'running');
    assert.deepEqual(pod.secrets, { KEY: sealed('value') });
  });

  test('a live pod cannot be created again; a deleted one can, continuing its generations', () => {
    refusedWith(decide(createCommand, created()), 'conflict', /exists already/);
    const deleted = apply(created(), { type: 'DeletePod', ...key, keepVolume: true });
    assert.equal(deleted.status, 'deleted');
    refusedWith(decide({ type: 'StopPod', ...key }, deleted), 'not_found');
    const again = apply(deleted, createCommand);
    assert.equal(live(again).generation, 2);
  });

  test('commands on an absent pod are not_found', () => {
    for (const type of ['StopPod', 'StartPod', 'DeletePod'] as const) {
      refusedWith(decide({ type, ...key, keepVolume: false } as PodCommand, podAggregate.initialState), 'not_found');
    }
  });
});

describe('pod aggregate: desired state', () => {
  test('stop and start are idempotent; restart asks once per request and not while stopped', () => {
    const stopped = apply(created(), { type: 'StopPod', ...key });
    assert.equal(live(stopped).desired, 'stopped');
    assert.deepEqual(accepted(decide({ type: 'StopPod', ...key }, stopped)), []);
    refusedWith(decide({ type: 'RestartPod', ...key, restartId: 'r1' }, stopped), 'conflict', /start it instead/);
    const started = apply(stopped, { type: 'StartPod', ...key });
    assert.deepEqual(accepted(decide({ type: 'StartPod', ...key }, started)), []);
    const restarted = apply(started, { type: 'RestartPod', ...key, restartId: 'r1' });
    assert.equal(live(restarted).restartId, 'r1');
  });

  test('rotating the token is a new generation', () => {
    const rotated = apply(created(), { type: 'RotateToken', ...key, accessToken: sealed('apa_new') });
    assert.equal(live(rotated).generation, 2);
    assert.deepEqual(live(rotated).accessToken, sealed('apa_new'));
  });
});

describe('pod aggregate: updates', () => {
  const update = (patch: Record<string, unknown>, extra: Partial<Extract<PodCommand, { type: 'UpdatePod' }>> = {}) =>
    ({
      type: 'UpdatePod',
      ...key,
      patch: parseUpdate({ ...key, ...patch }),
      secrets: {},
      ...extra,
    }) as PodCommand;

  test('an update is a new generation with the merged spec; secrets merge by name', () => {
    const next = apply(
      created(),
      update(
        { image: 'agentpod-test/node:2', env: { B: '2' }, secrets: { NEW: 'x' } },
        { secrets: { NEW: sealed('x') } },
      ),
    );
    const pod = live(next);
    assert.equal(pod.generation, 2);
    assert.equal(pod.spec.image, 'agentpod-test/node:2');
    assert.deepEqual(pod.spec.env, { A: '1', B: '2' });
    assert.deepEqual(Object.keys(pod.secrets).sort(), ['KEY', 'NEW']);
    const unset = live(apply(next, update({ unsetSecrets: ['KEY'] })));
    assert.deepEqual(Object.keys(unset.secrets), ['NEW']);
    assert.deepEqual(unset.spec.secretNames, ['NEW']);
  });

  test('an update that changes nothing stores nothing', () => {
    assert.deepEqual(accepted(decide(update({ image: 'agentpod-test/node:1' }), created())), []);
  });

  test('new ports need a placement decided on the node, against the ports the pod has now', () => {
    const newPorts = [{ containerPort: 9090 }];
    refusedWith(decide(update({ ports: newPorts }), created()), 'conflict', /changed while this update ran/);
    const moved: PortBinding[] = [{ hostPort: 20_001, containerPort: 9090, protocol: 'tcp', hostIp: '127.0.0.1' }];
    const stale = { base: [{ ...ports[0], hostPort: 20_005 } as PortBinding], ports: moved };
    refusedWith(decide(update({ ports: newPorts }, { placement: stale }), created()), 'conflict');
    const next = live(apply(created(), update({ ports: newPorts }, { placement: { base: ports, ports: moved } })));
    assert.deepEqual(next.ports, moved);
  });

  test('an escalation slipped into a patch is refused by the decider too', () => {
    const patch = { ...parseUpdate({ ...key }), env: { X: '/var/run/docker.sock' } };
    refusedWith(decide({ type: 'UpdatePod', ...key, patch, secrets: {} }, created()), 'forbidden');
  });
});
