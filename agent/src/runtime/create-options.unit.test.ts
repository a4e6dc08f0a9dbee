import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertSafe } from '@agentpod/contracts';
import { CAPABILITIES, toCreateOptions } from './create-options.ts';

const spec = assertSafe({
  tenantId: 'acme',
  podId: 'web',
  generation: 4,
  image: 'nginx:1.27',
  cmd: ['nginx', '-g', 'daemon off;'],
  env: { A: 'x=y', B: '' },
  ports: [
    { hostPort: 31_000, containerPort: 80 },
    { hostPort: 31_001, containerPort: 53, protocol: 'udp', hostIp: '0.0.0.0' },
  ],
  volume: { name: 'agentpod-acme_web', mountPath: '/usr/share/nginx/html' },
  limits: { memoryBytes: 256 << 20, cpus: 1.25, pids: 100 },
  labels: { team: 'blue' },
});

test('a spec becomes a hardened create request', () => {
  const options = toCreateOptions(spec);
  assert.equal(options.name, 'agentpod-acme_web-g4');
  assert.deepEqual(options.Cmd, ['nginx', '-g', 'daemon off;'], 'argv passed as is, never through a shell');
  assert.deepEqual(options.Env, ['A=x=y', 'B=']);
  assert.deepEqual(options.Labels, {
    team: 'blue',
    'agentpod.pod': 'acme/web',
    'agentpod.tenant': 'acme',
    'agentpod.generation': '4',
  });
  assert.deepEqual(options.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  const host = options.HostConfig ?? {};
  assert.deepEqual(host.PortBindings, {
    '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '31000' }],
    '53/udp': [{ HostIp: '0.0.0.0', HostPort: '31001' }],
  });
  assert.deepEqual(host.Mounts, [{ Type: 'volume', Source: 'agentpod-acme_web', Target: '/usr/share/nginx/html' }]);
  assert.equal(host.NanoCpus, 1_250_000_000);
  assert.equal(host.Memory, 256 << 20);
  assert.equal(host.MemorySwap, 256 << 20);
  assert.equal(host.PidsLimit, 100);
  assert.deepEqual(host.SecurityOpt, ['no-new-privileges:true']);
  assert.deepEqual(host.CapDrop, ['ALL']);
  assert.deepEqual(host.CapAdd, CAPABILITIES);
  assert.ok(!CAPABILITIES.includes('NET_RAW') && !CAPABILITIES.includes('SYS_ADMIN'));
  assert.equal(host.Privileged, false);
  assert.deepEqual(host.RestartPolicy, { Name: 'no' });
  assert.equal(host.Binds, undefined);
});

test('without a command or a volume, the image’s command runs and nothing is mounted', () => {
  const options = toCreateOptions({ ...spec, cmd: undefined, volume: undefined });
  assert.equal('Cmd' in options, false);
  assert.deepEqual(options.HostConfig?.Mounts, []);
});
