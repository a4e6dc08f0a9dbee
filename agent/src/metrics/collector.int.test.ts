import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { after, before, describe, type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MetricsSample } from '@agentpod/contracts';
import { ensureTestImages, TEST_IMAGES } from '@agentpod/kit/testing';
import Docker from 'dockerode';
import { recordingLogger } from '../testing/recording-logger.ts';
import { type MeteredContainer, MetricsCollector } from './collector.ts';
import { type HostFiles, realHostFiles } from './host.ts';

/*
 * The collector on this machine's real /proc and cgroup files, and on a real container burning CPU. The container
 * carries a label of its own, not AgentPod's, so no agent of another test takes it for a pod.
 */

const docker = new Docker();
const LABEL = 'agentpod-test.metrics';
const run = `${process.pid}-${Date.now()}`;

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds a process has used (utime + stime of /proc/<pid>/stat): the kernel's accounting per process. */
function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/**
 * Two rounds `gapMs` apart; the second one's sample, and what the busy process's own CPU accounting says over
 * the same time (percent of one core), as an independent measure.
 */
async function twoRounds(collector: MetricsCollector, containers: MeteredContainer[], gapMs: number) {
  const pid = containers[0]?.pid;
  assert.equal(await collector.collect(containers), undefined, 'the first round only primes');
  const from = { cpu: pid ? processCpuSeconds(pid) : 0, at: performance.now() };
  await sleep(gapMs);
  const to = { cpu: pid ? processCpuSeconds(pid) : 0, at: performance.now() };
  const sample = await collector.collect(containers);
  assert.ok(sample, 'the second round gives a sample');
  return {
    sample: MetricsSample.parse(sample),
    processPercent: (100 * (to.cpu - from.cpu)) / ((to.at - from.at) / 1000),
  };
}

/**
 * The container's CPU as sampled agrees with its process's own accounting, and it is > 50 % of one core
 * whenever the machine let it run that much: on a machine shared with other test runs (load 10 on 2 cores) a
 * busy loop honestly gets less, and the collector must say so rather than the test fail.
 */
function assertBusy(t: TestContext, cpuPercent: number, processPercent: number): void {
  const said = `sampled ${cpuPercent} %, the process's own accounting ${processPercent.toFixed(1)} %`;
  t.diagnostic(said);
  assert.ok(Math.abs(cpuPercent - processPercent) <= 15, said);
  assert.ok(cpuPercent > 10, said);
  if (processPercent > 60) assert.ok(cpuPercent > 50, said);
}

describe('metrics: the collector on this machine', () => {
  let burner: MeteredContainer;

  before(async () => {
    await ensureTestImages();
    // One busy loop in the main process: its own CPU accounting is the independent measure.
    const container = await docker.createContainer({
      Image: TEST_IMAGES.busybox,
      Cmd: ['sh', '-c', 'while :; do :; done'],
      Labels: { [LABEL]: run },
      HostConfig: { Memory: 64 * 1024 * 1024 },
    });
    await container.start();
    const info = await container.inspect();
    burner = {
      id: info.Id,
      tenantId: 'acme',
      podId: 'burner',
      pid: info.State.Pid,
      state: 'running',
      restartCount: info.RestartCount,
    };
  });

  after(async () => {
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL}=${run}`] } });
    await Promise.allSettled(left.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  });

  test('the node from /proc: sane CPU, memory, load, disks and interfaces', async () => {
    const { sample } = await twoRounds(new MetricsCollector({ logger: recordingLogger().logger }), [], 1000);
    const { node } = sample;
    assert.ok(node.cpu.total >= 0 && node.cpu.total <= 100);
    assert.equal(node.cpu.perCore.length, os.cpus().length);
    assert.equal(node.memory.totalBytes, os.totalmem());
    assert.ok(node.memory.usedBytes > 0 && node.memory.usedBytes < node.memory.totalBytes);
    assert.equal(node.memory.usedBytes + node.memory.availableBytes, node.memory.totalBytes);
    assert.ok(node.memory.swapUsedBytes <= node.memory.swapTotalBytes);
    assert.ok(node.load.every((load) => load >= 0));
    const root = node.disks.find((disk) => disk.mount === '/');
    assert.ok(root, `/ is among the disks: ${JSON.stringify(node.disks)}`);
    assert.ok(root.totalBytes > 0 && root.usedBytes > 0 && root.usedBytes <= root.totalBytes);
    assert.ok(node.disks.every((disk) => !disk.mount.startsWith('/proc') && !disk.mount.startsWith('/sys')));
    const names = node.network.map((n) => n.interface);
    assert.ok(!names.includes('lo') && !names.some((name) => name.startsWith('veth')), names.join(','));
    assert.ok(Math.abs(Date.parse(sample.at) - Date.now()) < 60_000);
  });

  test('a container burning CPU: its cgroup files say what its process used (> 50 % of one core) and memory in use', async (t) => {
    const { logger, messages } = recordingLogger();
    const { sample, processPercent } = await twoRounds(new MetricsCollector({ logger }), [burner], 2000);
    const seen = sample.containers.find((c) => c.containerId === burner.id);
    assert.ok(seen, `the container is sampled from its cgroup files (${messages().join('; ')})`);
    assertBusy(t, seen.cpuPercent, processPercent);
    assert.ok(seen.memoryBytes > 0);
    assert.equal(seen.memoryLimitBytes, 64 * 1024 * 1024);
    assert.equal(seen.tenantId, 'acme');
    assert.equal(seen.podId, 'burner');
    assert.equal(seen.restarts, 0);
  });

  test("where its cgroup files cannot be read, the same container through Docker's one-shot stats", async (t) => {
    const hidden: HostFiles = {
      ...realHostFiles,
      read: (path) => (path.startsWith('/sys/fs/cgroup') ? undefined : realHostFiles.read(path)),
    };
    const { logger, messages } = recordingLogger();
    const collector = new MetricsCollector({
      logger,
      host: hidden,
      dockerStats: (id) => docker.getContainer(id).stats({ stream: false, 'one-shot': true }),
    });
    const { sample, processPercent } = await twoRounds(collector, [burner], 2000);
    const seen = sample.containers.find((c) => c.containerId === burner.id);
    assert.ok(seen);
    assertBusy(t, seen.cpuPercent, processPercent);
    assert.ok(seen.memoryBytes > 0);
    assert.ok(messages().some((message) => message.includes("through Docker's stats")));
  });
});
