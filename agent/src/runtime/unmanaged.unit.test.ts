import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '@agentpod/contracts';
import type Docker from 'dockerode';
import { boundPorts, describeFrom, escalationsOf, keptMountsOf, toUnmanaged } from './unmanaged.ts';

/** What `docker run -d --name legacy -p 127.0.0.1:18080:8080 -p 9000 -v data:/data -v /srv/x:/x:ro …` inspects as. */
function inspected(overrides: { host?: Partial<Docker.HostConfig>; config?: Record<string, unknown> } = {}) {
  return {
    Id: 'f'.repeat(64),
    Name: '/legacy',
    Created: '2025-01-01T00:00:00.000Z',
    Image: 'sha256:abc',
    State: { Status: 'running', StartedAt: '2025-01-01T00:00:01.000Z', FinishedAt: '0001-01-01T00:00:00Z' },
    Config: {
      Image: 'agentpod-test/node:1',
      Cmd: ['node', '/app/server.js'],
      Entrypoint: null,
      Env: ['PATH=/usr/bin:/bin', 'DB_PASSWORD=hunter2', 'MODE=prod'],
      Labels: { 'com.example': 'x' },
      ...overrides.config,
    },
    HostConfig: {
      PortBindings: {
        '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '18080' }],
        '9000/tcp': [{ HostIp: '', HostPort: '' }],
      },
      RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
      Memory: 0,
      NanoCpus: 1_500_000_000,
      PidsLimit: null,
      NetworkMode: 'bridge',
      ...overrides.host,
    },
    NetworkSettings: {
      Ports: {
        '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '18080' }],
        '9000/tcp': [
          { HostIp: '0.0.0.0', HostPort: '49153' },
          { HostIp: '::', HostPort: '49153' },
        ],
      },
    },
    Mounts: [
      { Type: 'volume', Name: 'data', Source: '/var/lib/docker/volumes/data/_data', Destination: '/data', RW: true },
      { Type: 'bind', Source: '/srv/x', Destination: '/x', RW: false },
      { Type: 'tmpfs', Source: '', Destination: '/run', RW: true },
    ],
  } as unknown as Docker.ContainerInspectInfo;
}

const IMAGE = { Cmd: ['node', '/app/server.js'], Entrypoint: null, Env: ['PATH=/usr/bin:/bin', 'MODE=dev'] };

describe('containers AgentPod did not make', () => {
  test('listed with their bound ports (a random host port resolved), mounts and env names only', () => {
    const listed = toUnmanaged(inspected());
    assert.deepEqual(listed.ports, [
      { containerPort: 8080, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 18080 },
      { containerPort: 9000, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 49153 },
    ]);
    assert.deepEqual(listed.mounts, [
      { type: 'volume', source: 'data', destination: '/data', readOnly: false },
      { type: 'bind', source: '/srv/x', destination: '/x', readOnly: true },
      { type: 'tmpfs', source: '', destination: '/run', readOnly: false },
    ]);
    assert.deepEqual(listed.envKeys, ['PATH', 'DB_PASSWORD', 'MODE']);
    assert.ok(!JSON.stringify(listed).includes('hunter2'), 'no env value in a listing');
    assert.equal(listed.name, 'legacy');
    assert.equal(listed.startedAt, '2025-01-01T00:00:01.000Z');
  });

  test('described: what differs from its image, its restart policy and limits', () => {
    const described = describeFrom(inspected(), IMAGE);
    assert.equal(described.cmd, null, 'the image’s own command');
    assert.equal(described.entrypoint, null);
    assert.deepEqual(described.env, { DB_PASSWORD: 'hunter2', MODE: 'prod' }, 'not PATH, which the image sets');
    assert.equal(described.restartPolicy, 'unless-stopped');
    assert.deepEqual(described.limits, { memoryBytes: null, cpus: 1.5, pids: null });
    assert.deepEqual(described.escalations, []);
    const custom = describeFrom(inspected({ config: { Cmd: ['sh', '-c', 'x'], Entrypoint: ['/init'] } }), IMAGE);
    assert.deepEqual([custom.cmd, custom.entrypoint], [['sh', '-c', 'x'], ['/init']]);
    assert.deepEqual(describeFrom(inspected(), null).env.PATH, '/usr/bin:/bin', 'image gone: everything counts');
  });

  test('escalations: privileged, host namespaces, devices, capabilities, the Docker socket', () => {
    const risky = inspected({
      host: {
        Privileged: true,
        NetworkMode: 'host',
        PidMode: 'container:abc',
        CapAdd: ['NET_ADMIN'],
        Devices: [{ PathOnHost: '/dev/kvm', PathInContainer: '/dev/kvm', CgroupPermissions: 'rwm' }],
      },
    });
    (risky.Mounts as unknown[]).push({
      Type: 'bind',
      Source: '/var/run/docker.sock',
      Destination: '/var/run/docker.sock',
      RW: true,
    });
    assert.deepEqual(escalationsOf(risky), [
      'runs privileged',
      'shares the host’s network namespace',
      'shares another container’s pid namespace',
      'has devices',
      'has added capabilities (NET_ADMIN)',
      'mounts the Docker socket',
    ]);
  });

  test('kept mounts: volumes and binds, not a tmpfs; one AgentPod cannot express is refused, not dropped', () => {
    assert.deepEqual(keptMountsOf(inspected()), [
      { type: 'volume', source: 'data', destination: '/data', readOnly: false },
      { type: 'bind', source: '/srv/x', destination: '/x', readOnly: true },
    ]);
    const odd = inspected();
    (odd.Mounts as unknown[]).push({ Type: 'bind', Source: '/srv/y', Destination: '/my data', RW: true });
    assert.throws(
      () => keptMountsOf(odd),
      (error: unknown) => error instanceof AppError && error.code === 'invalid' && /\/my data/.test(error.message),
    );
  });

  test('a stopped container’s random host port is 0: it has none until it runs', () => {
    const stopped = inspected();
    (stopped.NetworkSettings as { Ports: unknown }).Ports = {};
    assert.equal(boundPorts(stopped).find((p) => p.containerPort === 9000)?.hostPort, 0);
  });
});
