import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { POD_ACCESS_TOKEN_ENV, PodSpec } from '@agentpod/contracts';
import { keyringOf } from '@agentpod/kit';
import { decrypt, encrypt, secretContext, tokenContext } from '../secrets/cipher.ts';
import { refusedWith, thrown } from '../testing/given.ts';
import { buildContainerSpec, type Decrypt } from './container-spec.ts';
import type { Pod } from './events.ts';

const keyring = keyringOf(randomBytes(32));
const T0 = '2026-03-01T12:00:00.000Z';
const pod: Pod = {
  tenantId: 'acme',
  podId: 'web',
  nodeId: 'nod_aaaaaaaaaaaaaaaaaaaaaaaa',
  spec: PodSpec.parse({
    image: 'agentpod-test/node:1',
    env: { GREETING: 'hi' },
    secretNames: ['API_KEY'],
    ports: [{ containerPort: 8080 }],
    volume: { mountPath: '/data' },
    limits: { memoryBytes: 64 << 20, cpus: 0.25, pids: 64 },
  }),
  secrets: { API_KEY: encrypt(keyring, 'sk-123', secretContext('acme', 'web', 'API_KEY')) },
  ports: [{ hostPort: 20_000, containerPort: 8080, protocol: 'tcp', hostIp: '127.0.0.1' }],
  volumeName: 'agentpod-acme_web',
  accessToken: encrypt(keyring, 'apa_token', tokenContext('acme', 'web')),
  generation: 3,
  keptMounts: [],
  adopted: null,
  desired: 'running',
  restartId: null,
  createdAt: T0,
  updatedAt: T0,
};
const decryptFor =
  (p: Pod): Decrypt =>
  (value, of) =>
    decrypt(
      keyring,
      value,
      'secret' in of ? secretContext(p.tenantId, p.podId, of.secret) : tokenContext(p.tenantId, p.podId),
    );

describe('the container spec', () => {
  test('carries decrypted secrets, the access token, ports, volume and limits, and passes the policy', () => {
    const spec = buildContainerSpec(pod, decryptFor(pod));
    assert.deepEqual(spec.env, { GREETING: 'hi', API_KEY: 'sk-123', [POD_ACCESS_TOKEN_ENV]: 'apa_token' });
    assert.equal(spec.generation, 3);
    assert.deepEqual(spec.volume, { name: 'agentpod-acme_web', mountPath: '/data' });
    assert.deepEqual(spec.ports, pod.ports);
    assert.deepEqual(spec.limits, { memoryBytes: 64 << 20, cpus: 0.25, pids: 64 });
  });

  test('carries the health check with the probed port resolved: its own, else the first TCP port', () => {
    const ports = [
      { hostPort: 20_001, containerPort: 9000, protocol: 'udp' as const, hostIp: '127.0.0.1' as const },
      { hostPort: 20_002, containerPort: 8081, protocol: 'tcp' as const, hostIp: '127.0.0.1' as const },
      { hostPort: 20_000, containerPort: 8080, protocol: 'tcp' as const, hostIp: '127.0.0.1' as const },
    ];
    const withHealth = (health: unknown): Pod => ({
      ...pod,
      spec: PodSpec.parse({
        image: pod.spec.image,
        ports: ports.map(({ containerPort, protocol }) => ({ containerPort, protocol })),
        health,
      }),
      ports,
    });
    const first = withHealth({ type: 'http', path: '/healthz' });
    assert.deepEqual(buildContainerSpec(first, decryptFor(first)).health, {
      type: 'http',
      path: '/healthz',
      port: 8081,
      intervalSeconds: 10,
      timeoutSeconds: 3,
      failureThreshold: 3,
      startGraceSeconds: 30,
    });
    const own = withHealth({ type: 'ws', path: '/ws', port: 8080, intervalSeconds: 2 });
    assert.equal(buildContainerSpec(own, decryptFor(own)).health?.port, 8080);
    assert.equal(buildContainerSpec(pod, decryptFor(pod)).health, undefined);
  });

  test('a stored spec that would escalate is refused even so', () => {
    const forged = { ...pod, spec: { ...pod.spec, env: { X: '/var/run/docker.sock' } } };
    refusedWith(
      thrown(() => buildContainerSpec(forged, decryptFor(forged))),
      'forbidden',
    );
  });

  test('an adopted pod: its kept mounts in every generation, the adopted container only in its own', () => {
    const keptMounts = [
      { type: 'volume' as const, source: 'legacy-data', destination: '/var/lib/app', readOnly: false },
      { type: 'bind' as const, source: '/srv/legacy', destination: '/srv', readOnly: true },
    ];
    const adopted: Pod = { ...pod, keptMounts, adopted: { containerId: 'c0ffee', generation: 3 } };
    const spec = buildContainerSpec(adopted, decryptFor(adopted));
    assert.deepEqual(spec.keptMounts, keptMounts);
    assert.deepEqual(spec.adopt, { containerId: 'c0ffee' });
    const next = { ...adopted, generation: 4 };
    const upgraded = buildContainerSpec(next, decryptFor(next));
    assert.deepEqual(upgraded.keptMounts, keptMounts);
    assert.equal(upgraded.adopt, undefined);
    assert.deepEqual(buildContainerSpec(pod, decryptFor(pod)).keptMounts, []);
  });

  test('a secret that does not decrypt fails the spec, not half of it', () => {
    const moved = { ...pod, podId: 'api' };
    refusedWith(
      thrown(() => buildContainerSpec(moved, decryptFor(moved))),
      'internal',
    );
  });
});
