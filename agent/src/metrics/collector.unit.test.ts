import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { recordingLogger } from '../testing/recording-logger.ts';
import { type MeteredContainer, MetricsCollector } from './collector.ts';
import type { HostFiles } from './host.ts';

const ID = 'c'.repeat(64);
const PID = 4242;

/** A host made of fixture files, changed between rounds like the kernel changes them. */
class FixtureHost implements HostFiles {
  readonly files = new Map<string, string>();
  read(path: string) {
    return this.files.get(path);
  }
  async statfs(path: string) {
    if (path !== '/') throw new Error('ENOENT');
    return { totalBytes: 100 * 1024 ** 3, usedBytes: 40 * 1024 ** 3 };
  }
  deviceOf(path: string) {
    return path === '/' ? '254:0' : undefined;
  }
  netns(pid: number | 'self') {
    return pid === 'self' ? 'net:[1]' : 'net:[2]';
  }
  /** The node files of round `n` (CPU 50 % busy, disk and network growing). */
  node(n: number) {
    const busy = 1000 * n;
    this.files.set(
      '/proc/stat',
      `cpu  ${busy} 0 0 ${busy} 0 0 0 0 0 0\ncpu0 ${busy} 0 0 0 0 0 0 0 0 0\ncpu1 0 0 0 ${busy} 0 0 0 0 0 0\n`,
    );
    this.files.set('/proc/meminfo', 'MemTotal: 1000 kB\nMemAvailable: 250 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n');
    this.files.set('/proc/loadavg', '1.00 0.50 0.25 1/100 999\n');
    this.files.set(
      '/proc/self/mounts',
      'proc /proc proc rw 0 0\n/dev/vda / ext4 rw 0 0\ncgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n',
    );
    this.files.set('/proc/diskstats', ` 254 0 vda 1 0 ${n * 2000} 0 1 0 ${n * 4000} 0 0 0 0\n`);
    this.files.set(
      '/proc/net/dev',
      `h1\nh2\n lo: ${n * 9} 0 0 0 0 0 0 0 ${n * 9} 0 0 0 0 0 0 0\n eth0: ${n * 10_000} 0 0 0 0 0 0 0 ${n * 5000} 0 0 0 0 0 0 0\n`,
    );
  }
  /** A v2 container's files in round `n`: one full core busy, 100 MB in use. */
  container(n: number) {
    const dir = `/sys/fs/cgroup/system.slice/docker-${ID}.scope`;
    this.files.set(`/proc/${PID}/cgroup`, `0::/system.slice/docker-${ID}.scope\n`);
    this.files.set(`${dir}/cpu.stat`, `usage_usec ${n * 10_000_000}\nuser_usec 1\n`);
    this.files.set(`${dir}/memory.current`, '104857600\n');
    this.files.set(`${dir}/memory.stat`, 'inactive_file 4857600\n');
    this.files.set(`${dir}/memory.max`, 'max\n');
    this.files.set(`${dir}/io.stat`, `254:0 rbytes=${n * 1000} wbytes=0 rios=1 wios=0\n`);
    this.files.set(
      `/proc/${PID}/net/dev`,
      `h\nh\n lo: 5 0 0 0 0 0 0 0 5\n eth0: ${n * 300} 0 0 0 0 0 0 0 ${n * 100} 0\n`,
    );
  }
}

const running: MeteredContainer = {
  id: ID,
  tenantId: 'acme',
  podId: 'web',
  pid: PID,
  state: 'running',
  restartCount: 1,
};

describe('metrics: the collector over fixture files', () => {
  test('first round primes; the next gives node and container rates over the time between them', async () => {
    const host = new FixtureHost();
    let now = 0;
    const collector = new MetricsCollector({
      logger: recordingLogger().logger,
      host,
      now: () => now,
      clock: () => new Date('2026-01-01T00:00:10Z'),
    });
    host.node(1);
    host.container(1);
    assert.equal(await collector.collect([running]), undefined);
    host.node(2);
    host.container(2);
    now = 10_000;
    const sample = await collector.collect([running, { ...running, id: 'd'.repeat(64), state: 'exited', pid: null }]);
    assert.ok(sample);
    assert.equal(sample.at, '2026-01-01T00:00:10.000Z');
    assert.deepEqual(sample.node.cpu, { total: 50, perCore: [100, 0] });
    assert.equal(sample.node.memory.usedBytes, 750 * 1024);
    assert.deepEqual(sample.node.load, [1, 0.5, 0.25]);
    assert.deepEqual(sample.node.disks, [
      {
        mount: '/',
        device: '/dev/vda',
        totalBytes: 100 * 1024 ** 3,
        usedBytes: 40 * 1024 ** 3,
        readBytesPerSec: (2000 * 512) / 10,
        writeBytesPerSec: (4000 * 512) / 10,
      },
    ]);
    assert.deepEqual(sample.node.network, [{ interface: 'eth0', rxBytesPerSec: 1000, txBytesPerSec: 500 }]);
    assert.deepEqual(sample.containers, [
      {
        containerId: ID,
        tenantId: 'acme',
        podId: 'web',
        cpuPercent: 100,
        memoryBytes: 100_000_000,
        memoryLimitBytes: null,
        netRxBytesPerSec: 30,
        netTxBytesPerSec: 10,
        blockReadBytesPerSec: 100,
        blockWriteBytesPerSec: 0,
        restarts: 1,
      },
    ]);
  });

  test("a container whose cgroup files are unreadable is read through Docker's stats (said once)", async () => {
    const host = new FixtureHost();
    const { logger, messages } = recordingLogger();
    let now = 0;
    let usage = 0;
    const asked: string[] = [];
    const collector = new MetricsCollector({
      logger,
      host,
      now: () => now,
      dockerStats: async (id) => {
        asked.push(id);
        usage += 2_000_000_000; // 2 s of CPU per 10 s round: 20 %
        return { cpu_stats: { cpu_usage: { total_usage: usage } }, memory_stats: { usage: 5000, limit: 1 } };
      },
    });
    for (let round = 1; round <= 3; round++) {
      host.node(round);
      now = round * 10_000;
      const sample = await collector.collect([running]);
      if (round > 1)
        assert.deepEqual(
          sample?.containers.map((c) => [c.cpuPercent, c.memoryBytes]),
          [[20, 5000]],
        );
    }
    assert.deepEqual(asked, [ID, ID, ID]);
    assert.equal(messages().filter((m) => m.includes("through Docker's stats")).length, 1);
  });

  test('a container appearing later, and one restarted (new pid, counters from 0), give no sample that round', async () => {
    const host = new FixtureHost();
    let now = 0;
    const collector = new MetricsCollector({ logger: recordingLogger().logger, host, now: () => now });
    host.node(1);
    await collector.collect([]);
    host.node(2);
    host.container(5);
    now = 10_000;
    assert.deepEqual((await collector.collect([running]))?.containers, [], 'first reading of the container');
    host.node(3);
    host.container(1); // counters went back: restarted in place
    now = 20_000;
    const sample = await collector.collect([running]);
    assert.equal(sample?.containers[0]?.cpuPercent, 0, 'a reset reads as no growth');
  });
});
