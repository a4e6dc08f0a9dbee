import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  candidateCgroups,
  cgroupLayout,
  cgroupsOfProcess,
  cpuUsec,
  memoryInUse,
  memoryLimit,
  parseBlkioServiceBytes,
  parseIoStat,
  parseProcCgroup,
} from './cgroup.ts';
import { countersFromDockerStats } from './docker-stats.ts';
import { parseMounts } from './proc.ts';

const ID = '34353f6f04d2d87b7cbd99bf2bf3c6c771468bf85d8f586e078985d7417e7ad8';

/** A hybrid host (Docker's cgroupfs driver on cgroup v1, plus an empty v2 tree), as on the CI machine. */
const HYBRID_MOUNTS = `tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup /sys/fs/cgroup/blkio cgroup rw,relatime,blkio 0 0
cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
`;
const HYBRID_PROC_CGROUP = `9:name=systemd:/docker/${ID}
8:pids:/docker/${ID}
7:blkio:/docker/${ID}
4:memory:/docker/${ID}
1:cpu,cpuacct:/docker/${ID}
0::/docker/${ID}
`;
/** A current distribution: cgroup v2 only, Docker's systemd driver. */
const V2_MOUNTS = 'cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n';
const V2_PROC_CGROUP = `0::/system.slice/docker-${ID}.scope\n`;

describe('metrics: cgroup layouts and files', () => {
  test('hybrid (v1 controllers + empty v2 tree): each controller from its v1 tree', () => {
    const layout = cgroupLayout(parseMounts(HYBRID_MOUNTS));
    assert.deepEqual(layout, {
      unified: '/sys/fs/cgroup/unified',
      v1: { cpu: '/sys/fs/cgroup/cpu,cpuacct', memory: '/sys/fs/cgroup/memory', io: '/sys/fs/cgroup/blkio' },
    });
    const place = parseProcCgroup(HYBRID_PROC_CGROUP);
    assert.equal(place.v2, `/docker/${ID}`);
    assert.deepEqual(cgroupsOfProcess(layout, place), {
      cpu: { version: 1, dir: `/sys/fs/cgroup/cpu,cpuacct/docker/${ID}` },
      memory: { version: 1, dir: `/sys/fs/cgroup/memory/docker/${ID}` },
      io: { version: 1, dir: `/sys/fs/cgroup/blkio/docker/${ID}` },
    });
  });

  test('v2 only: every controller from the one tree; candidates without a pid', () => {
    const layout = cgroupLayout(parseMounts(V2_MOUNTS));
    assert.deepEqual(layout, { unified: '/sys/fs/cgroup', v1: {} });
    const dir = `/sys/fs/cgroup/system.slice/docker-${ID}.scope`;
    assert.deepEqual(cgroupsOfProcess(layout, parseProcCgroup(V2_PROC_CGROUP)), {
      cpu: { version: 2, dir },
      memory: { version: 2, dir },
      io: { version: 2, dir },
    });
    assert.deepEqual(
      candidateCgroups(layout, ID).map((found) => found.memory.dir),
      [`/sys/fs/cgroup/docker/${ID}`, dir],
    );
  });

  test('no place: a v1 controller the process is not in, or no cgroup mount at all', () => {
    const layout = cgroupLayout(parseMounts(HYBRID_MOUNTS));
    assert.equal(cgroupsOfProcess(layout, parseProcCgroup(`0::/docker/${ID}\n`)), undefined);
    assert.equal(cgroupsOfProcess(cgroupLayout([]), parseProcCgroup(V2_PROC_CGROUP)), undefined);
    assert.deepEqual(parseProcCgroup('garbage\n1:cpu:relative\n'), { v2: null, v1: {} });
  });

  test('cpu: v2 usage_usec, v1 nanoseconds, both in microseconds', () => {
    assert.equal(cpuUsec(2, 'usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\n'), 1234567);
    assert.equal(cpuUsec(1, '1234567000\n'), 1234567);
    assert.equal(cpuUsec(1, ''), undefined);
    assert.equal(cpuUsec(2, 'nr_periods 0\n'), undefined);
  });

  test('memory: usage minus inactive page cache (like docker stats), never below 0; limits, "max" → null', () => {
    assert.equal(memoryInUse(2, '104857600\n', 'anon 1000\ninactive_file 4857600\nactive_file 5\n'), 100_000_000);
    assert.equal(memoryInUse(1, '104857600\n', 'cache 1\ninactive_file 9\ntotal_inactive_file 4857600\n'), 100_000_000);
    assert.equal(memoryInUse(2, '100\n', 'inactive_file 500\n'), 100);
    assert.equal(memoryInUse(2, '100\n', undefined), 100);
    assert.equal(memoryInUse(2, '', undefined), undefined);
    assert.equal(memoryLimit('max\n'), null);
    assert.equal(memoryLimit('9223372036854771712\n'), null);
    assert.equal(memoryLimit('268435456\n'), 268435456);
  });

  test('block I/O: v2 io.stat and v1 blkio service bytes, summed over devices', () => {
    assert.deepEqual(
      parseIoStat(
        '254:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n8:0 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n',
      ),
      { readBytes: 4097, writeBytes: 8194 },
    );
    assert.deepEqual(
      parseBlkioServiceBytes(
        '254:0 Read 4096\n254:0 Write 8192\n254:0 Sync 1\n254:0 Async 2\n254:0 Total 12288\n8:0 Read 1\nTotal 12289\n',
      ),
      { readBytes: 4097, writeBytes: 8192 },
    );
    assert.deepEqual(parseBlkioServiceBytes('Total 0\n'), { readBytes: 0, writeBytes: 0 });
  });

  test("Docker's one-shot stats as the same counters (the fallback)", () => {
    const stats = {
      cpu_stats: { cpu_usage: { total_usage: 5_000_000_000 } },
      memory_stats: { usage: 10_000, limit: 64 * 1024 ** 3, stats: { inactive_file: 4_000 } },
      networks: { eth0: { rx_bytes: 100, tx_bytes: 200 }, eth1: { rx_bytes: 1, tx_bytes: 2 } },
      blkio_stats: {
        io_service_bytes_recursive: [
          { major: 254, minor: 0, op: 'read', value: 4096 },
          { major: 254, minor: 0, op: 'Write', value: 8192 },
        ],
      },
    };
    assert.deepEqual(countersFromDockerStats(stats, 8 * 1024 ** 3), {
      cpuUsec: 5_000_000,
      memoryBytes: 6_000,
      // Docker says the host's memory when there is no limit.
      memoryLimitBytes: null,
      rxBytes: 101,
      txBytes: 202,
      readBytes: 4096,
      writeBytes: 8192,
    });
    const limited = countersFromDockerStats(
      { ...stats, memory_stats: { ...stats.memory_stats, limit: 1024 }, networks: null, blkio_stats: {} },
      8 * 1024 ** 3,
    );
    assert.equal(limited?.memoryLimitBytes, 1024);
    assert.equal(limited?.rxBytes, 0);
    // A stopped container's answer has no CPU usage.
    assert.equal(countersFromDockerStats({ cpu_stats: {}, memory_stats: {} }, 1), undefined);
  });
});
