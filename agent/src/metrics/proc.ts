/*
 * Parsers of the node's /proc files. Pure: text in, numbers out; a line that does not parse is skipped, never
 * thrown on (a kernel may add fields or lines; what is known is still read).
 */

/** CPU time of one CPU line of /proc/stat (jiffies), reduced to what a percentage needs. */
export type CpuTimes = { busy: number; total: number };

/** `cpu` (the whole machine) and `cpu0`, `cpu1`… in order. */
export type ProcStat = { total: CpuTimes; cores: CpuTimes[] };

const numbers = (fields: readonly string[]): number[] => fields.map(Number).filter(Number.isFinite);

/**
 * /proc/stat's `cpu` lines: user nice system idle iowait irq softirq steal guest guest_nice. Guest time is
 * already counted in user and nice, so the first eight make the total; idle and iowait are the time not busy.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  let total: CpuTimes | undefined;
  const cores: CpuTimes[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('cpu')) continue;
    const [name = '', ...rest] = line.trim().split(/\s+/);
    const values = numbers(rest).slice(0, 8);
    if (values.length < 4) continue;
    const all = values.reduce((sum, value) => sum + value, 0);
    const idle = (values[3] ?? 0) + (values[4] ?? 0);
    const times = { busy: all - idle, total: all };
    if (name === 'cpu') total = times;
    else if (/^cpu\d+$/.test(name)) cores.push(times);
  }
  return total ? { total, cores } : undefined;
}

/** /proc/meminfo as bytes by key (`MemTotal`, `MemAvailable`…); the kernel writes kB. */
export function parseMeminfo(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([\w()]+):\s+(\d+)(?:\s+kB)?/.exec(line);
    if (!match?.[1] || match[2] === undefined) continue;
    values.set(match[1], Number(match[2]) * (line.trimEnd().endsWith('kB') ? 1024 : 1));
  }
  return values;
}

export type Memory = {
  totalBytes: number;
  usedBytes: number;
  availableBytes: number;
  swapTotalBytes: number;
  swapUsedBytes: number;
};

/** Used is total − available (what the kernel could hand out without swapping), as `free` reports it. */
export function memoryOf(meminfo: Map<string, number>): Memory {
  const total = meminfo.get('MemTotal') ?? 0;
  // Kernels before 3.14 have no MemAvailable: free + buffers + page cache is the old approximation.
  const available = Math.min(
    total,
    meminfo.get('MemAvailable') ??
      (meminfo.get('MemFree') ?? 0) + (meminfo.get('Buffers') ?? 0) + (meminfo.get('Cached') ?? 0),
  );
  const swapTotal = meminfo.get('SwapTotal') ?? 0;
  const swapFree = Math.min(swapTotal, meminfo.get('SwapFree') ?? 0);
  return {
    totalBytes: total,
    usedBytes: total - available,
    availableBytes: available,
    swapTotalBytes: swapTotal,
    swapUsedBytes: swapTotal - swapFree,
  };
}

/** /proc/loadavg: the 1, 5 and 15 minute load averages. */
export function parseLoadavg(text: string): [number, number, number] {
  const [one = 0, five = 0, fifteen = 0] = numbers(text.trim().split(/\s+/).slice(0, 3));
  return [Math.max(0, one), Math.max(0, five), Math.max(0, fifteen)];
}

/** One line of /proc/self/mounts. */
export type Mount = { device: string; mountPoint: string; type: string; options: string[] };

/** The kernel escapes space, tab, newline and backslash in mount fields as `\ooo`. */
const unescapeMount = (field: string) =>
  field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));

export function parseMounts(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const [device, mountPoint, type, options] = line.split(' ');
    if (!device || !mountPoint || !type) continue;
    mounts.push({
      device: unescapeMount(device),
      mountPoint: unescapeMount(mountPoint),
      type,
      options: (options ?? '').split(','),
    });
  }
  return mounts;
}

/**
 * Filesystems that hold no data of their own (kernel interfaces, memory, container layers) or that live on
 * another machine: a statfs of a network filesystem whose server is gone can hang, and would then hold one of
 * libuv's few threads for good.
 */
const NOT_A_DISK = new Set([
  'autofs',
  'binfmt_misc',
  'bpf',
  'cgroup',
  'cgroup2',
  'configfs',
  'debugfs',
  'devpts',
  'devtmpfs',
  'efivarfs',
  'fusectl',
  'hugetlbfs',
  'mqueue',
  'nsfs',
  'overlay',
  'proc',
  'pstore',
  'ramfs',
  'rpc_pipefs',
  'securityfs',
  'selinuxfs',
  'squashfs',
  'sysfs',
  'tmpfs',
  'tracefs',
  'aufs',
  'shm',
  'iso9660',
  // Remote: left out on purpose (see above).
  'nfs',
  'nfs4',
  'cifs',
  'smb3',
  'ceph',
  'glusterfs',
  'fuse.sshfs',
  '9p',
]);
/** Where a host mounts what is not its own disks: kernel trees and Docker's per-container mounts. */
const SKIPPED_UNDER = ['/proc/', '/sys/', '/dev/', '/run/docker/', '/var/lib/docker/', '/run/containerd/', '/snap/'];

/**
 * The node's disks: real filesystems only, each device once (at its first mount, normally the shortest path:
 * `/` before a bind mount of a directory of it such as /var/lib/docker).
 */
export function diskMounts(mounts: readonly Mount[]): Mount[] {
  const seen = new Set<string>();
  const disks: Mount[] = [];
  for (const mount of mounts) {
    if (NOT_A_DISK.has(mount.type) || mount.type.startsWith('fuse.') || mount.device === 'none') continue;
    if (SKIPPED_UNDER.some((prefix) => `${mount.mountPoint}/`.startsWith(prefix))) continue;
    if (seen.has(mount.device)) continue;
    seen.add(mount.device);
    disks.push(mount);
  }
  return disks;
}

/** Bytes read and written by one block device since boot (sectors of 512 bytes, whatever the hardware's). */
export type DiskIo = { readBytes: number; writeBytes: number };

/** /proc/diskstats by `major:minor`. */
export function parseDiskstats(text: string): Map<string, DiskIo> {
  const devices = new Map<string, DiskIo>();
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const [major, minor, , , , sectorsRead, , , , sectorsWritten] = fields;
    const read = Number(sectorsRead);
    const written = Number(sectorsWritten);
    if (!Number.isFinite(read) || !Number.isFinite(written)) continue;
    devices.set(`${major}:${minor}`, { readBytes: read * 512, writeBytes: written * 512 });
  }
  return devices;
}

export type NetIo = { rxBytes: number; txBytes: number };

/** /proc/net/dev (of the host, or of a container's process): bytes received and sent by interface. */
export function parseNetDev(text: string): Map<string, NetIo> {
  const interfaces = new Map<string, NetIo>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    const rx = Number(fields[0]);
    const tx = Number(fields[8]);
    if (!name || !Number.isFinite(rx) || !Number.isFinite(tx)) continue;
    interfaces.set(name, { rxBytes: rx, txBytes: tx });
  }
  return interfaces;
}

/**
 * The node's interfaces worth a series: not loopback, and not the host ends of containers' veth pairs (their
 * traffic is each container's own, and is counted again on the bridge, docker0 or br-…, which is kept).
 */
export const isNodeInterface = (name: string): boolean => name !== 'lo' && !name.startsWith('veth');

/** A container's traffic: every interface of its network namespace but loopback. */
export function containerTraffic(interfaces: ReadonlyMap<string, NetIo>): NetIo {
  let rxBytes = 0;
  let txBytes = 0;
  for (const [name, io] of interfaces) {
    if (name === 'lo') continue;
    rxBytes += io.rxBytes;
    txBytes += io.txBytes;
  }
  return { rxBytes, txBytes };
}
