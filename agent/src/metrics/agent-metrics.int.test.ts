import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentFrame, NodeFacts } from '@agentpod/contracts';
import { startAgent } from '../agent.ts';
import { ReconnectBackoff } from '../connection/backoff.ts';
import { agentSocketUrl } from '../connection/frames.ts';
import { MemoryRuntime } from '../testing/memory-runtime.ts';
import { recordingLogger } from '../testing/recording-logger.ts';
import { isFrame, startTestGateway, type TestGateway } from '../testing/test-gateway.ts';
import { type HostFiles, realHostFiles } from './host.ts';

/*
 * The whole agent with metrics on, against a real WebSocket peer: containers learned from its own inventory,
 * rounds sent as `metrics` frames, a backlog kept across a gateway outage and sent oldest first after the next
 * hello. The node's files are this machine's; the in-memory runtime's container (pid 4242) gets cgroup files
 * of its own, in a v2 layout, using half a core.
 */

const facts: NodeFacts = {
  hostname: 'memory',
  os: 'Linux',
  arch: 'x64',
  cpus: 1,
  memoryBytes: 1 << 30,
  diskBytes: 1 << 30,
  diskFreeBytes: 1 << 29,
  dockerVersion: null,
  agentVersion: '0.1.0',
};
const CREDENTIAL = `apn_${'m'.repeat(40)}`;

const host: HostFiles = {
  ...realHostFiles,
  read(path) {
    switch (path) {
      case '/proc/self/mounts':
        return '/dev/root / ext4 rw 0 0\ncgroup2 /fake/cgroup cgroup2 rw 0 0\n';
      case '/proc/4242/cgroup':
        return '0::/pod\n';
      case '/fake/cgroup/pod/cpu.stat':
        return `usage_usec ${Math.round(performance.now() * 500)}\n`;
      case '/fake/cgroup/pod/memory.current':
        return '1048576\n';
      case '/fake/cgroup/pod/memory.max':
        return 'max\n';
      case '/proc/4242/net/dev':
        return 'h\nh\n eth0: 0 0 0 0 0 0 0 0 0 0\n';
      default:
        return path.startsWith('/proc/4242') || path.startsWith('/fake/') ? undefined : realHostFiles.read(path);
    }
  },
  netns: (pid) => (pid === 'self' ? 'net:[1]' : 'net:[2]'),
};

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const metricsFrames = (gateway: TestGateway) =>
  gateway.frames.filter((frame): frame is Extract<AgentFrame, { t: 'metrics' }> => frame.t === 'metrics');

describe('agent metrics (real WebSocket, in-memory runtime)', () => {
  test('rounds go out as metrics frames; an outage is bridged by the backlog, oldest first; stop stops them', async () => {
    let gateway = await startTestGateway();
    const port = Number(new URL(gateway.url).port);
    cleanups.push(() => gateway.close());
    gateway.credentials.add(CREDENTIAL);
    const runtime = new MemoryRuntime();
    const { id } = await runtime.create({
      tenantId: 'acme',
      podId: 'web',
      generation: 1,
      image: 'agentpod-test/node:1',
      limits: { memoryBytes: 128 << 20, cpus: 0.5, pids: 64 },
    });
    await runtime.start(id);
    const agent = startAgent({
      runtime,
      logger: recordingLogger().logger,
      facts: async () => facts,
      target: async () => ({ url: agentSocketUrl(`http://127.0.0.1:${port}`), credential: CREDENTIAL }),
      backoff: new ReconnectBackoff({ initialMs: 20, maxMs: 100, jitter: 0.5 }),
      metrics: { intervalMs: 100, host },
    });
    let stopped = false;
    cleanups.push(async () => {
      if (!stopped) await agent.stop();
    });

    // The container comes from the agent's own inventory; its first round only primes it.
    const withContainer = await gateway.waitFor(
      (frame): frame is Extract<AgentFrame, { t: 'metrics' }> =>
        frame.t === 'metrics' && frame.samples.some((s) => s.containers.some((c) => c.containerId === id)),
    );
    const seen = withContainer.samples.flatMap((s) => s.containers).find((c) => c.containerId === id);
    assert.equal(seen?.tenantId, 'acme');
    assert.equal(seen?.podId, 'web');
    assert.ok((seen?.cpuPercent ?? 0) > 0);
    assert.equal(seen?.memoryBytes, 1048576);
    assert.equal(seen?.memoryLimitBytes, null);
    assert.ok(
      metricsFrames(gateway).every((frame) => frame.samples.length === 1),
      'one round per frame while up',
    );

    // The control plane goes away for a while, then comes back on the same address.
    await gateway.close();
    const outageFrom = Date.now();
    await sleep(800);
    gateway = await startTestGateway({ port });
    gateway.credentials.add(CREDENTIAL);
    const backAt = Date.now();
    await gateway.waitFor(isFrame('hello'));
    const first = await gateway.waitFor(isFrame('metrics'));
    assert.ok(first.samples.length >= 2, `the backlog: ${first.samples.length} rounds`);
    assert.ok(Date.parse(first.samples[0]?.at ?? '') < backAt, 'rounds taken during the outage');
    assert.ok(Date.parse(first.samples.at(-1)?.at ?? '') >= outageFrom);
    await gateway.waitFor((frame): frame is AgentFrame => frame.t === 'metrics', gateway.frames.indexOf(first) + 1);
    const times = metricsFrames(gateway).flatMap((frame) => frame.samples.map((s) => Date.parse(s.at)));
    assert.ok(
      times.every((at, i) => i === 0 || at > (times[i - 1] ?? 0)),
      'oldest first, none twice',
    );
    assert.ok(gateway.frames.findIndex(isFrame('hello')) < gateway.frames.indexOf(first), 'after the hello');
    assert.deepEqual(gateway.violations, []);

    await agent.stop();
    stopped = true;
    const count = metricsFrames(gateway).length;
    await sleep(300);
    assert.equal(metricsFrames(gateway).length, count, 'no round after stop');
  });
});
