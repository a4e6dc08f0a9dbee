import type { HostFiles } from './host.ts';
import {
  diskMounts,
  isNodeInterface,
  memoryOf,
  parseDiskstats,
  parseLoadavg,
  parseMeminfo,
  parseMounts,
  parseNetDev,
  parseProcStat,
} from './proc.ts';
import type { DiskReading, NodeReading } from './rates.ts';

/**
 * Reads the node's counters from /proc: CPU times (/proc/stat), memory (/proc/meminfo), load (/proc/loadavg),
 * the real filesystems of /proc/self/mounts with their size (statfs) and their device's I/O (/proc/diskstats),
 * and the bytes of each interface (/proc/net/dev).
 */
export class NodeReader {
  readonly #host: HostFiles;
  readonly #now: () => number;
  /** Each mount point's device number: a stat per mount once, not per round. */
  readonly #devices = new Map<string, string | undefined>();

  constructor(host: HostFiles, now: () => number) {
    this.#host = host;
    this.#now = now;
  }

  /** Undefined when /proc/stat cannot be read (not Linux, or /proc not mounted): there is no node sample then. */
  async read(): Promise<NodeReading | undefined> {
    const read = (path: string) => this.#host.read(path) ?? '';
    const atMs = this.#now();
    const cpu = parseProcStat(read('/proc/stat'));
    if (!cpu) return undefined;
    const memory = memoryOf(parseMeminfo(read('/proc/meminfo')));
    const load = parseLoadavg(read('/proc/loadavg'));
    const io = parseDiskstats(read('/proc/diskstats'));
    const network = new Map([...parseNetDev(read('/proc/net/dev'))].filter(([name]) => isNodeInterface(name)));
    const mounts = diskMounts(parseMounts(read('/proc/self/mounts')));
    const disks = await Promise.all(
      mounts.map(async (mount): Promise<DiskReading | undefined> => {
        const size = await this.#host.statfs(mount.mountPoint).catch(() => undefined);
        if (!size) return undefined;
        const device = this.#deviceOf(mount.mountPoint);
        const counters = device === undefined ? undefined : io.get(device);
        return { mount: mount.mountPoint, device: mount.device, ...size, ...(counters ? { io: counters } : {}) };
      }),
    );
    const present = new Set(mounts.map((mount) => mount.mountPoint));
    for (const mountPoint of this.#devices.keys()) if (!present.has(mountPoint)) this.#devices.delete(mountPoint);
    return { atMs, cpu, memory, load, disks: disks.filter((disk) => disk !== undefined), network };
  }

  #deviceOf(mountPoint: string): string | undefined {
    if (!this.#devices.has(mountPoint)) this.#devices.set(mountPoint, this.#host.deviceOf(mountPoint));
    return this.#devices.get(mountPoint);
  }
}
