import type { ContainerSample, NodeSample } from '@agentpod/contracts';
import type { BlockIo } from './cgroup.ts';
import type { CpuTimes, DiskIo, Memory, NetIo } from './proc.ts';

/*
 * Samples from two consecutive readings. Pure. Every rate is a difference of two counters over the time between
 * the readings; a counter that went down (a container restarted in place, a 32-bit counter wrapped, a device
 * re-appeared) tells nothing about that interval, which then counts as 0 rather than as a negative rate or a
 * bogus spike.
 */

/** How much a counter grew; 0 when it went backwards (reset or wrap). */
export const grew = (before: number, after: number): number => (after >= before ? after - before : 0);

/** Growth per second, rounded to 2 decimals (bytes/s need no more, and the frames get smaller). */
export function perSecond(before: number, after: number, seconds: number): number {
  if (!(seconds > 0)) return 0;
  return round(grew(before, after) / seconds);
}

const round = (value: number) => Math.round(value * 100) / 100;
const clamp = (value: number, max: number) => Math.min(max, Math.max(0, value));

/** The contract's ceiling on a percentage (1,000 cores at 100%). */
const MAX_PERCENT = 100_000;

/** Busy share of the time that passed on one CPU line, 0–100. */
export function cpuPercent(before: CpuTimes, after: CpuTimes): number {
  const total = grew(before.total, after.total);
  if (total === 0) return 0;
  return round(clamp((100 * grew(before.busy, after.busy)) / total, 100));
}

/** A mounted disk as read once: its size (now) and its device's I/O counters (since boot; absent: unknown). */
export type DiskReading = { mount: string; device: string; totalBytes: number; usedBytes: number; io?: DiskIo };

/** Everything read of the node in one round; `atMs` from a monotonic clock. */
export type NodeReading = {
  atMs: number;
  cpu: { total: CpuTimes; cores: CpuTimes[] };
  memory: Memory;
  load: [number, number, number];
  disks: DiskReading[];
  network: Map<string, NetIo>;
};

/** At most this many disks and interfaces per sample (the contract's bound). */
const MAX_LISTED = 64;

export function nodeSample(before: NodeReading, after: NodeReading): NodeSample {
  const seconds = (after.atMs - before.atMs) / 1000;
  const previousDisk = new Map(before.disks.map((disk) => [disk.mount, disk]));
  const integer = (value: number) => Math.max(0, Math.round(value));
  return {
    cpu: {
      total: cpuPercent(before.cpu.total, after.cpu.total),
      // A CPU that came online between the readings has no earlier one: it starts at 0.
      perCore: after.cpu.cores
        .slice(0, 1024)
        .map((core, i) => (before.cpu.cores[i] ? cpuPercent(before.cpu.cores[i], core) : 0)),
    },
    memory: {
      totalBytes: integer(after.memory.totalBytes),
      usedBytes: integer(after.memory.usedBytes),
      availableBytes: integer(after.memory.availableBytes),
      swapTotalBytes: integer(after.memory.swapTotalBytes),
      swapUsedBytes: integer(after.memory.swapUsedBytes),
    },
    load: after.load,
    disks: after.disks.slice(0, MAX_LISTED).map((disk) => {
      const was = previousDisk.get(disk.mount)?.io;
      const io = disk.io;
      return {
        mount: disk.mount.slice(0, 512),
        device: disk.device.slice(0, 255),
        totalBytes: integer(disk.totalBytes),
        usedBytes: integer(disk.usedBytes),
        readBytesPerSec: was && io ? perSecond(was.readBytes, io.readBytes, seconds) : 0,
        writeBytesPerSec: was && io ? perSecond(was.writeBytes, io.writeBytes, seconds) : 0,
      };
    }),
    network: [...after.network]
      .filter(([name]) => before.network.has(name) && name.length <= 64)
      .slice(0, MAX_LISTED)
      .map(([name, io]) => {
        const was = before.network.get(name) as NetIo;
        return {
          interface: name,
          rxBytesPerSec: perSecond(was.rxBytes, io.rxBytes, seconds),
          txBytesPerSec: perSecond(was.txBytes, io.txBytes, seconds),
        };
      }),
  };
}

/** A container's counters as read once, whichever way they were read (cgroup files or Docker's stats). */
export type ContainerCounters = BlockIo & {
  /** CPU time used since the container started, in microseconds. */
  cpuUsec: number;
  memoryBytes: number;
  memoryLimitBytes: number | null;
  rxBytes: number;
  txBytes: number;
};
export type ContainerReading = { atMs: number; counters: ContainerCounters };

export type ContainerLabels = { containerId: string; tenantId: string; podId: string; restarts: number };

/** CPU percent of one core: a container busy on two cores for the whole interval is at 200. */
export function containerSample(
  before: ContainerReading,
  after: ContainerReading,
  labels: ContainerLabels,
): ContainerSample {
  const seconds = (after.atMs - before.atMs) / 1000;
  const a = before.counters;
  const b = after.counters;
  const cpu = seconds > 0 ? (100 * grew(a.cpuUsec, b.cpuUsec)) / 1e6 / seconds : 0;
  return {
    containerId: labels.containerId,
    tenantId: labels.tenantId,
    podId: labels.podId,
    cpuPercent: round(clamp(cpu, MAX_PERCENT)),
    memoryBytes: Math.max(0, Math.round(b.memoryBytes)),
    memoryLimitBytes: b.memoryLimitBytes === null ? null : Math.max(0, Math.round(b.memoryLimitBytes)),
    netRxBytesPerSec: perSecond(a.rxBytes, b.rxBytes, seconds),
    netTxBytesPerSec: perSecond(a.txBytes, b.txBytes, seconds),
    blockReadBytesPerSec: perSecond(a.readBytes, b.readBytes, seconds),
    blockWriteBytesPerSec: perSecond(a.writeBytes, b.writeBytes, seconds),
    restarts: Math.max(0, Math.trunc(labels.restarts)),
  };
}
