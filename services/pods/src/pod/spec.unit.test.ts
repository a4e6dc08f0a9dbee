import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PodSpec } from '@agentpod/contracts';
import { refusedWith, thrown } from '../testing/given.ts';
import { applyPatch, parseCreate, parseUpdate } from './spec.ts';

/*
 * Every escalation a request can ask for is refused on create AND on update, whatever field carries it, before
 * anything is decided (so nothing is stored). The int test checks the "nothing stored" end to end.
 */

const create = (spec: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  tenantId: 'acme',
  podId: 'web',
  spec: { image: 'agentpod-test/node:1', ...spec },
  ...extra,
});
const update = (extra: Record<string, unknown>) => ({ tenantId: 'acme', podId: 'web', ...extra });

const ESCALATIONS: [string, Record<string, unknown>][] = [
  ['privileged mode', { privileged: true }],
  ['host network', { network_mode: 'host' }],
  ['host network (Docker API spelling)', { HostConfig: { NetworkMode: 'host' } }],
  ['host pid namespace', { pid: 'host' }],
  ['another container’s network', { networkMode: 'container:db' }],
  ['devices', { devices: ['/dev/sda:/dev/sda'] }],
  ['added capabilities', { cap_add: ['SYS_ADMIN'] }],
  ['host binds', { volumes: ['/:/host'] }],
  ['bind mounts', { mounts: [{ type: 'bind', source: '/etc', target: '/etc' }] }],
  ['the Docker socket as a volume', { volumes: ['/var/run/docker.sock:/var/run/docker.sock'] }],
  ['security options', { security_opt: ['seccomp=unconfined'] }],
];

describe('the security policy on create', () => {
  for (const [what, field] of ESCALATIONS) {
    test(`${what} in the spec is forbidden`, () => {
      refusedWith(
        thrown(() => parseCreate(create(field))),
        'forbidden',
        /refused: /,
      );
    });
    test(`${what} beside the spec is forbidden`, () => {
      refusedWith(
        thrown(() => parseCreate(create({}, field))),
        'forbidden',
      );
    });
  }

  test('the Docker socket anywhere is forbidden: a mount path, the command, an env value, a secret value', () => {
    const cases = [
      create({ volume: { mountPath: '/var/run/docker.sock' } }),
      create({ cmd: ['cat', '/var/run/docker.sock'] }),
      create({ env: { DOCKER_HOST: 'unix:///var/run/docker.sock' } }),
      create({}, { secrets: { SOCK: '/run/docker.sock' } }),
    ];
    for (const input of cases)
      refusedWith(
        thrown(() => parseCreate(input)),
        'forbidden',
        /Docker socket/,
      );
  });

  test('fields the spec does not know are invalid; a clean spec passes with defaults', () => {
    refusedWith(
      thrown(() => parseCreate(create({ shmSize: 1 }))),
      'invalid',
    );
    const input = parseCreate(create({ ports: [{ containerPort: 8080 }] }, { secrets: { TOKEN: 's3cret' } }));
    assert.deepEqual(input.spec.secretNames, ['TOKEN']);
    assert.equal(input.spec.limits.memoryBytes, 256 * 1024 * 1024);
  });

  test('secrets: a listed name needs a value, a name is env or secret, the access token’s name is reserved', () => {
    refusedWith(
      thrown(() => parseCreate(create({ secretNames: ['A'] }))),
      'invalid',
      /secret A has no value/,
    );
    refusedWith(
      thrown(() => parseCreate(create({ env: { A: '1' } }, { secrets: { A: '2' } }))),
      'invalid',
      /both an env var and a secret/,
    );
    refusedWith(
      thrown(() => parseCreate(create({ env: { AGENTPOD_ACCESS_TOKEN: 'x' } }))),
      'invalid',
      /set by AgentPod/,
    );
  });
});

describe('the security policy on update', () => {
  for (const [what, field] of ESCALATIONS) {
    test(`${what} is forbidden`, () => {
      refusedWith(
        thrown(() => parseUpdate(update(field))),
        'forbidden',
      );
    });
  }

  test('the Docker socket through the update’s own fields is forbidden', () => {
    for (const input of [
      update({ cmd: ['ls', '/var/run/docker.sock'] }),
      update({ env: { X: '/var/run/docker.sock' } }),
      update({ secrets: { X: 'docker.sock' } }),
    ]) {
      refusedWith(
        thrown(() => parseUpdate(input)),
        'forbidden',
        /Docker socket/,
      );
    }
  });

  test('a patch merges env and secret names, merges limits field by field, and replaces the rest', () => {
    const spec = PodSpec.parse({
      image: 'agentpod-test/node:1',
      env: { A: '1', B: '2' },
      secretNames: ['S1', 'S2'],
      ports: [{ containerPort: 8080 }],
      limits: { memoryBytes: 512 * 1024 * 1024, cpus: 1, pids: 100 },
      health: { type: 'http', path: '/healthz' },
    });
    const next = applyPatch(
      spec,
      parseUpdate(
        update({
          image: 'agentpod-test/node:2',
          env: { C: '3' },
          unsetEnv: ['A'],
          secrets: { S3: 'x' },
          unsetSecrets: ['S1'],
          limits: { cpus: 2 },
          health: null,
        }),
      ),
    );
    assert.equal(next.image, 'agentpod-test/node:2');
    assert.deepEqual(next.env, { B: '2', C: '3' });
    assert.deepEqual(next.secretNames, ['S2', 'S3']);
    assert.deepEqual(next.limits, { memoryBytes: 512 * 1024 * 1024, cpus: 2, pids: 100 });
    assert.equal(next.health, undefined);
    assert.deepEqual(next.ports, spec.ports);
  });

  test('a patch that leaves an invalid spec is refused', () => {
    const spec = PodSpec.parse({ image: 'agentpod-test/node:1', ports: [{ containerPort: 8080 }] });
    const broken = parseUpdate(update({ health: { type: 'http', path: '/' }, ports: [] }));
    refusedWith(
      thrown(() => applyPatch(spec, broken)),
      'invalid',
      /TCP port/,
    );
  });
});
