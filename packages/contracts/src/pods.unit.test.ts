import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from './errors.ts';
import {
  assertSafe,
  type ContainerSpecInput,
  containerName,
  Env,
  findEscalations,
  HealthCheck,
  ImageRef,
  MemoryInput,
  MountPath,
  PodId,
  PodSpec,
  parseHealthFlag,
  parseMemory,
  parsePodRef,
  volumeName,
} from './pods.ts';

const base: ContainerSpecInput = {
  tenantId: 'acme',
  podId: 'web',
  generation: 1,
  image: 'agentpod-test/node:1',
  env: { GREETING: 'hi' },
  ports: [{ hostPort: 31_000, containerPort: 8080 }],
  volume: { name: 'agentpod-acme_web', mountPath: '/data' },
  limits: { memoryBytes: 64 << 20, cpus: 0.5, pids: 64 },
};

function refused(input: unknown, pattern: RegExp, code: 'forbidden' | 'invalid' = 'forbidden'): void {
  assert.throws(
    () => assertSafe(input),
    (error: unknown) => error instanceof AppError && error.code === code && pattern.test(error.message),
  );
}

describe('pod names and references', () => {
  test('pod ids are slugs like tenant ids', () => {
    for (const ok of ['web', 'my-agent-1', 'a0b']) assert.equal(PodId.safeParse(ok).success, true, ok);
    for (const bad of ['ab', 'Web', '1web', 'web-', 'we_b', 'a'.repeat(33), 'wéb'])
      assert.equal(PodId.safeParse(bad).success, false, bad);
  });
  test('<tenant>/<pod> parses; names cannot collide across tenants', () => {
    assert.deepEqual(parsePodRef('acme/web'), { tenantId: 'acme', podId: 'web' });
    assert.throws(() => parsePodRef('acme/web/x'));
    assert.notEqual(containerName('a-b', 'cde', 1), containerName('a', 'b-cde', 1));
    assert.notEqual(volumeName('a-b', 'cde'), volumeName('a', 'b-cde'));
    assert.equal(containerName('acme', 'web', 3), 'agentpod-acme_web-g3');
  });
});

describe('image references', () => {
  test('accepts the reference grammar', () => {
    for (const ok of [
      'nginx',
      'nginx:1.27-alpine',
      'library/nginx:latest',
      'ghcr.io/acme/app:v2',
      'localhost:5000/team/app_x__y.z:1',
      `alpine@sha256:${'a'.repeat(64)}`,
      `registry.example.com:443/a/b:c@sha256:${'0'.repeat(64)}`,
    ])
      assert.equal(ImageRef.safeParse(ok).success, true, ok);
  });
  test('refuses whitespace, shell syntax and malformed references', () => {
    for (const bad of [
      '',
      'nginx latest',
      'nginx;rm -rf /',
      'nginx$(id)',
      '`id`',
      'Nginx',
      'nginx:',
      'nginx@sha256:abc',
      '-nginx',
      'a/../b',
      'nginx\n',
      'x'.repeat(600),
    ])
      assert.equal(ImageRef.safeParse(bad).success, false, JSON.stringify(bad));
  });
  test('a hostile near-match is rejected without catastrophic backtracking', () => {
    // With Docker's own `[-]*` separator this string takes exponential time; the test would hit its timeout.
    assert.equal(ImageRef.safeParse(`${'a'.repeat(400)}!`).success, false);
    assert.equal(ImageRef.safeParse(`${'a-'.repeat(200)}!`).success, false);
  });
});

describe('env, mounts, limits, health', () => {
  test('env keys and values', () => {
    assert.equal(Env.safeParse({ _OK: 'x', PATH_2: 'y'.repeat(32_768) }).success, true);
    for (const bad of [{ '1X': 'v' }, { 'A-B': 'v' }, { A: 'nul\0' }, { A: 'x'.repeat(32_769) }, { '': 'v' }])
      assert.equal(Env.safeParse(bad).success, false, JSON.stringify(Object.keys(bad)));
    refused({ ...base, env: { 'BAD-KEY': 'v' } }, /env\.BAD-KEY: key "BAD-KEY" must be a letter/, 'invalid');
  });
  test('mount paths are absolute and normalised', () => {
    for (const ok of ['/data', '/var/lib/app', '/home/node/.cache'])
      assert.equal(MountPath.safeParse(ok).success, true);
    for (const bad of ['data', '/', '/data/', '//data', '/a/../b', '/a/./b', '/proc', '/sys/fs', '/dev', '/a b'])
      assert.equal(MountPath.safeParse(bad).success, false, bad);
  });
  test('memory sizes', () => {
    assert.equal(parseMemory('256m'), 256 << 20);
    assert.equal(parseMemory('1g'), 1 << 30);
    assert.equal(parseMemory('1.5G'), 1.5 * (1 << 30));
    assert.equal(parseMemory('512Mi'), 512 << 20);
    assert.equal(parseMemory('64MB'), 64 << 20);
    assert.equal(parseMemory('10485760'), 10 << 20);
    assert.throws(() => parseMemory('lots'), AppError);
    assert.equal(MemoryInput.parse('1g'), 1 << 30);
    assert.equal(MemoryInput.safeParse('1m').success, false, 'below Docker’s 6 MB minimum');
    assert.equal(MemoryInput.safeParse('2t').success, false);
  });
  test('health checks default their timings; the CLI flag parses', () => {
    assert.deepEqual(HealthCheck.parse({ type: 'tcp' }), {
      type: 'tcp',
      intervalSeconds: 10,
      timeoutSeconds: 3,
      failureThreshold: 3,
      startGraceSeconds: 30,
    });
    assert.equal(parseHealthFlag('http:/healthz').type, 'http');
    assert.deepEqual(parseHealthFlag('ws:/socket?x=1'), { ...HealthCheck.parse({ type: 'ws' }), path: '/socket?x=1' });
    assert.equal(parseHealthFlag('tcp:8080').type === 'tcp' && parseHealthFlag('tcp:8080').port, 8080);
    assert.throws(() => parseHealthFlag('exec:/bin/true'), AppError);
    assert.throws(() => parseHealthFlag('http:no-slash'), AppError);
  });
  test('a pod spec gets defaults and its cross-field rules', () => {
    const spec = PodSpec.parse({ image: 'nginx', ports: [{ containerPort: 80 }], health: { type: 'http' } });
    assert.deepEqual(spec.limits, { memoryBytes: 256 << 20, cpus: 0.5, pids: 256 });
    assert.deepEqual(spec.ports, [{ containerPort: 80, protocol: 'tcp', public: false }]);
    assert.equal(spec.restart, 'always');
    assert.equal(PodSpec.safeParse({ image: 'nginx', health: { type: 'tcp' } }).success, false, 'no port to probe');
    assert.equal(
      PodSpec.safeParse({ image: 'nginx', ports: [{ containerPort: 80 }], health: { type: 'tcp', port: 81 } }).success,
      false,
    );
    assert.equal(PodSpec.safeParse({ image: 'nginx', env: { A: '1' }, secretNames: ['A'] }).success, false);
    assert.equal(
      PodSpec.safeParse({ image: 'nginx', ports: [{ containerPort: 80 }, { containerPort: 80 }] }).success,
      false,
    );
    assert.equal(PodSpec.safeParse({ image: 'nginx', privileged: true }).success, false);
    assert.equal(PodSpec.safeParse({ image: 'nginx', cmd: 'sh -c "id"' }).success, false, 'argv, not a string');
  });
});

describe('assertSafe', () => {
  test('a plain spec passes and gets its defaults', () => {
    const spec = assertSafe(base);
    assert.deepEqual(spec.ports, [{ hostPort: 31_000, containerPort: 8080, protocol: 'tcp', hostIp: '127.0.0.1' }]);
    assert.deepEqual(spec.labels, {});
    assert.deepEqual(findEscalations(base), []);
  });

  const escalations: [string, unknown, RegExp][] = [
    ['privileged', { ...base, privileged: true }, /privileged mode is not allowed/],
    ['Docker API Privileged', { HostConfig: { Privileged: true } }, /privileged mode/],
    ['host network', { ...base, networkMode: 'host' }, /host’s network namespace/],
    ['compose network_mode', { services: { a: { network_mode: 'host' } } }, /host’s network namespace/],
    ['another container’s network', { ...base, NetworkMode: 'container:other' }, /another container’s network/],
    ['host pid', { ...base, pid: 'host' }, /host’s pid namespace/],
    ['host ipc', { ...base, IpcMode: 'host' }, /host’s ipc namespace/],
    ['host userns', { ...base, userns_mode: 'host' }, /host’s userns namespace/],
    ['devices', { ...base, devices: ['/dev/sda:/dev/sda'] }, /devices are not allowed/],
    ['cap_add', { ...base, cap_add: ['SYS_ADMIN'] }, /added capabilities are not allowed/],
    ['CapAdd', { HostConfig: { CapAdd: ['NET_ADMIN'] } }, /added capabilities/],
    ['security_opt', { ...base, security_opt: ['seccomp=unconfined'] }, /security options are set by AgentPod/],
    ['host bind string', { ...base, binds: ['/etc:/host-etc'] }, /host binds are not allowed/],
    ['relative host bind', { services: { a: { volumes: ['./src:/app'] } } }, /host binds/],
    ['bind mount object', { ...base, mounts: [{ type: 'bind', source: '/', target: '/host' }] }, /host binds/],
    ['Docker API Mounts', { HostConfig: { Mounts: [{ Type: 'bind', Source: '/srv', Target: '/x' }] } }, /host binds/],
    ['docker socket bind', { ...base, binds: ['/var/run/docker.sock:/var/run/docker.sock'] }, /Docker socket/],
    ['docker socket as a volume', { ...base, volume: { name: 'x', mountPath: '/run/docker.sock' } }, /Docker socket/],
    ['docker socket in env', { ...base, env: { DOCKER_HOST: 'unix:///var/run/docker.sock' } }, /Docker socket/],
    ['volumes_from', { ...base, volumes_from: ['other'] }, /another container’s volumes/],
    ['bind via driver opts', { volumes: { d: { driver_opts: { o: 'bind', device: '/srv' } } } }, /driver options/],
  ];
  for (const [name, input, pattern] of escalations)
    test(`refuses ${name}`, () => {
      refused(input, pattern);
    });

  test('names every escalation of one request', () => {
    const found = findEscalations({ ...base, privileged: true, cap_add: ['ALL'], pid: 'host' });
    assert.equal(found.length, 3, found.join('\n'));
  });
  test('settings that are off, and env/label data that look like settings, are not escalations', () => {
    assert.deepEqual(findEscalations({ privileged: false, cap_add: [], devices: [], network_mode: 'bridge' }), []);
    assert.deepEqual(findEscalations({ env: { PRIVILEGED: 'true', PID: 'host' }, labels: { cap_add: 'x' } }), []);
    assert.deepEqual(findEscalations({ volumes: ['data:/data', '/anonymous'] }), []);
  });
  test('unknown fields are refused, not ignored', () => {
    refused({ ...base, restartPolicy: 'always' }, /Unrecognized key/i, 'invalid');
    refused({ ...base, limits: { ...base.limits, swap: 1 } }, /Unrecognized key/i, 'invalid');
  });
  test('a volume must be one of the same tenant’s; reserved labels and low host ports are refused', () => {
    refused({ ...base, volume: { name: 'agentpod-other_web', mountPath: '/data' } }, /same tenant/, 'invalid');
    refused({ ...base, volume: { name: '/srv/data', mountPath: '/data' } }, /volume/, 'invalid');
    refused({ ...base, labels: { 'agentpod.tenant': 'other' } }, /reserved/, 'invalid');
    refused({ ...base, ports: [{ hostPort: 22, containerPort: 22 }] }, /hostPort/, 'invalid');
    refused({ ...base, ports: [{ hostPort: 31_000, containerPort: 80, hostIp: '10.0.0.1' }] }, /hostIp/, 'invalid');
  });
});
