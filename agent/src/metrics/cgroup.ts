import type { Mount } from './proc.ts';

/*
 * Where a container's cgroup files are and what they say. Pure: the layout comes from the mount table, the
 * container's place from /proc/<pid>/cgroup, the numbers from the files' text.
 *
 * Three layouts exist in the wild and all are read:
 * - cgroup v2 only (current distributions): one tree, `/sys/fs/cgroup/<path>` with cpu.stat, memory.current,
 *   memory.max, memory.stat, io.stat.
 * - cgroup v1 (older hosts, and Docker's `cgroupfs` driver there): one tree per controller, cpuacct.usage,
 *   memory.usage_in_bytes, memory.limit_in_bytes, memory.stat, blkio.throttle.io_service_bytes(_recursive).
 * - hybrid: the v1 trees plus a v2 tree (`/sys/fs/cgroup/unified`) holding no controller we read. A controller
 *   is read from the tree it is mounted in: a v1 mount wins; v2 is the fallback.
 */

/** The controllers the collector reads. */
export type Controller = 'cpu' | 'memory' | 'io';

/** Where each hierarchy is mounted on this host. */
export type CgroupLayout = {
  /** The cgroup2 mount, if any. */
  unified: string | null;
  /** v1 mounts: `cpuacct` (cpu), `memory`, `blkio` (io). */
  v1: Partial<Record<Controller, string>>;
};

/** The v1 controller (mount option) behind each reading. */
const V1_NAMES: Record<Controller, string> = { cpu: 'cpuacct', memory: 'memory', io: 'blkio' };
const CONTROLLERS = Object.keys(V1_NAMES) as Controller[];

export function cgroupLayout(mounts: readonly Mount[]): CgroupLayout {
  const layout: CgroupLayout = { unified: null, v1: {} };
  for (const mount of mounts) {
    if (mount.type === 'cgroup2') layout.unified ??= mount.mountPoint;
    if (mount.type !== 'cgroup') continue;
    for (const controller of CONTROLLERS)
      if (mount.options.includes(V1_NAMES[controller])) layout.v1[controller] ??= mount.mountPoint;
  }
  return layout;
}

/** A process's place in each hierarchy (/proc/<pid>/cgroup): `0::<path>` for v2, `<n>:<controllers>:<path>`. */
export type ProcCgroup = { v2: string | null; v1: Partial<Record<Controller, string>> };

export function parseProcCgroup(text: string): ProcCgroup {
  const place: ProcCgroup = { v2: null, v1: {} };
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1).trim();
    if (!path.startsWith('/')) continue;
    if (line.slice(0, first) === '0' && controllers === '') {
      place.v2 = path;
      continue;
    }
    const names = controllers.split(',');
    for (const controller of CONTROLLERS) if (names.includes(V1_NAMES[controller])) place.v1[controller] = path;
  }
  return place;
}

/** One controller's directory for one container, and which format its files are in. */
export type ControllerDir = { version: 1 | 2; dir: string };
export type ContainerCgroups = Record<Controller, ControllerDir>;

/** `/sys/fs/cgroup` + `/docker/abc` without a doubled or missing slash. */
const join = (mount: string, path: string) => `${mount.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;

/**
 * A container's directories from its main process's /proc/<pid>/cgroup; undefined when a controller has no
 * place (the process is gone, or the host mounts it nowhere the agent can see).
 */
export function cgroupsOfProcess(layout: CgroupLayout, place: ProcCgroup): ContainerCgroups | undefined {
  const dirs: Partial<ContainerCgroups> = {};
  for (const controller of CONTROLLERS) {
    const v1Mount = layout.v1[controller];
    const v1Path = place.v1[controller];
    if (v1Mount !== undefined) {
      if (v1Path === undefined) return undefined;
      dirs[controller] = { version: 1, dir: join(v1Mount, v1Path) };
    } else if (layout.unified !== null && place.v2 !== null) {
      dirs[controller] = { version: 2, dir: join(layout.unified, place.v2) };
    } else return undefined;
  }
  return dirs as ContainerCgroups;
}

/**
 * Where Docker puts a container's cgroup when its process cannot be asked (no pid): `docker/<id>` with the
 * `cgroupfs` driver, `system.slice/docker-<id>.scope` with the `systemd` driver. Candidates, best first; the
 * reader keeps the first that exists.
 */
export function candidateCgroups(layout: CgroupLayout, containerId: string): ContainerCgroups[] {
  return [`/docker/${containerId}`, `/system.slice/docker-${containerId}.scope`].flatMap((path) => {
    const found = cgroupsOfProcess(layout, { v2: path, v1: { cpu: path, memory: path, io: path } });
    return found ? [found] : [];
  });
}

/** The file a controller's first reading comes from (its existence tells a candidate directory is real). */
export const probeFile = (cpu: ControllerDir): string =>
  `${cpu.dir}/${cpu.version === 1 ? 'cpuacct.usage' : 'cpu.stat'}`;

/** `key value` lines (cpu.stat, memory.stat) as numbers by key. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    const number = Number(value);
    if (key && value !== undefined && Number.isFinite(number)) values.set(key, number);
  }
  return values;
}

/** v2 cpu.stat `usage_usec`, or v1 cpuacct.usage (nanoseconds): CPU time used, in microseconds. */
export function cpuUsec(version: 1 | 2, text: string): number | undefined {
  if (version === 2) return parseFlatKeyed(text).get('usage_usec');
  const ns = Number(text.trim());
  return text.trim() !== '' && Number.isFinite(ns) ? ns / 1000 : undefined;
}

/**
 * Memory in use the way `docker stats` counts it: usage minus the inactive page cache (memory the kernel takes
 * back before it would fail an allocation). v2: memory.current − `inactive_file`; v1: memory.usage_in_bytes −
 * `total_inactive_file` (hierarchical).
 */
export function memoryInUse(version: 1 | 2, usageText: string, statText: string | undefined): number | undefined {
  const usage = Number(usageText.trim());
  if (usageText.trim() === '' || !Number.isFinite(usage)) return undefined;
  const stat = statText === undefined ? new Map<string, number>() : parseFlatKeyed(statText);
  const inactive = stat.get(version === 2 ? 'inactive_file' : 'total_inactive_file') ?? 0;
  return inactive < usage ? usage - inactive : usage;
}

/**
 * Above this a limit means "none": v2 writes `max`; v1 writes the largest page-aligned 64-bit value
 * (9223372036854771712), which is not even a safe integer in JavaScript.
 */
const NO_LIMIT_ABOVE = 2 ** 52;

/** memory.max (v2) or memory.limit_in_bytes (v1); null when unlimited. */
export function memoryLimit(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === 'max' || trimmed === '') return null;
  const value = Number(trimmed);
  return Number.isFinite(value) && value > 0 && value < NO_LIMIT_ABOVE ? value : null;
}

export type BlockIo = { readBytes: number; writeBytes: number };

/** v2 io.stat: `<major>:<minor> rbytes=… wbytes=… rios=…` per device, summed. */
export function parseIoStat(text: string): BlockIo {
  let readBytes = 0;
  let writeBytes = 0;
  for (const match of text.matchAll(/\b([rw])bytes=(\d+)/g)) {
    if (match[1] === 'r') readBytes += Number(match[2]);
    else writeBytes += Number(match[2]);
  }
  return { readBytes, writeBytes };
}

/** v1 blkio.throttle.io_service_bytes(_recursive): `<major>:<minor> Read|Write|… <bytes>` per device, summed. */
export function parseBlkioServiceBytes(text: string): BlockIo {
  let readBytes = 0;
  let writeBytes = 0;
  for (const line of text.split('\n')) {
    const [device, op, value] = line.trim().split(/\s+/);
    if (!device?.includes(':') || value === undefined) continue;
    const bytes = Number(value);
    if (!Number.isFinite(bytes)) continue;
    if (op === 'Read') readBytes += bytes;
    else if (op === 'Write') writeBytes += bytes;
  }
  return { readBytes, writeBytes };
}
