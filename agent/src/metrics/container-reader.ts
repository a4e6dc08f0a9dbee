import {
  type CgroupLayout,
  type ContainerCgroups,
  candidateCgroups,
  cgroupLayout,
  cgroupsOfProcess,
  cpuUsec,
  memoryInUse,
  memoryLimit,
  parseBlkioServiceBytes,
  parseIoStat,
  parseProcCgroup,
  probeFile,
} from './cgroup.ts';
import type { HostFiles } from './host.ts';
import { containerTraffic, parseMounts, parseNetDev } from './proc.ts';
import type { ContainerCounters } from './rates.ts';

/** What the reader needs to know of a container: its id and, while it runs, its main process. */
export type ContainerRef = { id: string; pid: number | null };

/** Where one container's files are, found once per run of it (a restart gives a new pid). */
type Place = { pid: number | null; cgroups: ContainerCgroups | undefined; ownNetwork: boolean };

/**
 * Reads a container's counters from its cgroup files (see cgroup.ts for the layouts) and its traffic from
 * /proc/<pid>/net/dev. The cgroup directories are resolved once per run of a container and kept; a round then
 * reads six small files per container.
 */
export class CgroupReader {
  readonly #host: HostFiles;
  #layout: CgroupLayout | undefined;
  readonly #places = new Map<string, Place>();
  #hostNetns: string | undefined;

  constructor(host: HostFiles) {
    this.#host = host;
  }

  /** The hierarchies this host mounts (for the README's "what this machine uses", and tests). */
  get layout(): CgroupLayout {
    this.#layout ??= cgroupLayout(parseMounts(this.#host.read('/proc/self/mounts') ?? ''));
    return this.#layout;
  }

  /** Undefined when the container's cpu or memory files cannot be read: the caller falls back to Docker. */
  read(container: ContainerRef): ContainerCounters | undefined {
    const place = this.#placeOf(container);
    if (!place.cgroups) return undefined;
    const { cpu, memory, io } = place.cgroups;
    const read = (path: string) => this.#host.read(path);

    const cpuText = read(`${cpu.dir}/${cpu.version === 1 ? 'cpuacct.usage' : 'cpu.stat'}`);
    const usage = read(`${memory.dir}/${memory.version === 1 ? 'memory.usage_in_bytes' : 'memory.current'}`);
    const cpuTime = cpuText === undefined ? undefined : cpuUsec(cpu.version, cpuText);
    const memoryBytes =
      usage === undefined ? undefined : memoryInUse(memory.version, usage, read(`${memory.dir}/memory.stat`));
    if (cpuTime === undefined || memoryBytes === undefined) {
      // The directory went away (the container stopped, or moved): find it again next time.
      this.#places.delete(container.id);
      return undefined;
    }
    const limitText = read(`${memory.dir}/${memory.version === 1 ? 'memory.limit_in_bytes' : 'memory.max'}`);
    const blockIo =
      io.version === 2
        ? parseIoStat(read(`${io.dir}/io.stat`) ?? '')
        : parseBlkioServiceBytes(
            read(`${io.dir}/blkio.throttle.io_service_bytes_recursive`) ??
              read(`${io.dir}/blkio.throttle.io_service_bytes`) ??
              '',
          );
    // A container on the host's network (`--network host`) has no traffic of its own to report.
    const traffic =
      container.pid !== null && place.ownNetwork
        ? containerTraffic(parseNetDev(read(`/proc/${container.pid}/net/dev`) ?? ''))
        : { rxBytes: 0, txBytes: 0 };
    return {
      cpuUsec: cpuTime,
      memoryBytes,
      memoryLimitBytes: limitText === undefined ? null : memoryLimit(limitText),
      ...blockIo,
      ...traffic,
    };
  }

  /** Forgets every container not in `ids` (removed, stopped). */
  keepOnly(ids: ReadonlySet<string>): void {
    for (const id of this.#places.keys()) if (!ids.has(id)) this.#places.delete(id);
  }

  #placeOf(container: ContainerRef): Place {
    const known = this.#places.get(container.id);
    if (known && known.pid === container.pid) return known;
    const place: Place = {
      pid: container.pid,
      cgroups: this.#resolve(container),
      ownNetwork: container.pid !== null && this.#ownNetwork(container.pid),
    };
    this.#places.set(container.id, place);
    return place;
  }

  #resolve(container: ContainerRef): ContainerCgroups | undefined {
    const layout = this.layout;
    if (container.pid !== null) {
      const text = this.#host.read(`/proc/${container.pid}/cgroup`);
      const found = text === undefined ? undefined : cgroupsOfProcess(layout, parseProcCgroup(text));
      if (found && this.#host.read(probeFile(found.cpu)) !== undefined) return found;
    }
    return candidateCgroups(layout, container.id).find((found) => this.#host.read(probeFile(found.cpu)) !== undefined);
  }

  #ownNetwork(pid: number): boolean {
    this.#hostNetns ??= this.#host.netns('self');
    const netns = this.#host.netns(pid);
    return netns === undefined || netns !== this.#hostNetns;
  }
}
