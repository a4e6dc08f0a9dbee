import { performance } from 'node:perf_hooks';
import { type ContainerSample, MetricsSample } from '@agentpod/contracts';
import type { Logger } from '@agentpod/kit';
import { mapLimited } from '../runtime/limited.ts';
import type { ObservedContainer } from '../runtime/types.ts';
import { CgroupReader } from './container-reader.ts';
import { countersFromDockerStats } from './docker-stats.ts';
import { type HostFiles, realHostFiles } from './host.ts';
import { NodeReader } from './node-reader.ts';
import { type ContainerReading, containerSample, type NodeReading, nodeSample } from './rates.ts';

/** What the collector needs of a container from the agent's inventory. */
export type MeteredContainer = Pick<ObservedContainer, 'id' | 'tenantId' | 'podId' | 'pid' | 'state' | 'restartCount'>;

export type CollectorDeps = {
  logger: Logger;
  host?: HostFiles;
  /**
   * Docker's one-shot stats of a container (`container.stats({stream: false, 'one-shot': true})`), asked only for
   * containers whose cgroup files cannot be read. Unset: such containers give no sample.
   */
  dockerStats?: (containerId: string) => Promise<unknown>;
  /** Monotonic milliseconds (rates); wall-clock time for `at`. */
  now?: () => number;
  clock?: () => Date;
};

/** Docker stats calls in flight at once when falling back. */
const FALLBACK_CONCURRENCY = 4;

/**
 * One sampling round: reads the node and every running container, and turns this reading and the previous one
 * into a MetricsSample. The first round (and a container's first round) only primes: rates need two readings,
 * so `collect` answers undefined the first time and leaves out containers seen for the first time.
 */
export class MetricsCollector {
  readonly #deps: CollectorDeps;
  readonly #now: () => number;
  readonly #clock: () => Date;
  readonly #node: NodeReader;
  readonly #cgroups: CgroupReader;
  #lastNode: NodeReading | undefined;
  readonly #lastContainers = new Map<string, ContainerReading>();
  /** Containers read through Docker, said once each. */
  readonly #viaDocker = new Set<string>();

  constructor(deps: CollectorDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => performance.now());
    this.#clock = deps.clock ?? (() => new Date());
    const host = deps.host ?? realHostFiles;
    this.#node = new NodeReader(host, this.#now);
    this.#cgroups = new CgroupReader(host);
  }

  async collect(containers: readonly MeteredContainer[]): Promise<MetricsSample | undefined> {
    const at = this.#clock();
    const node = await this.#node.read();
    const running = containers.filter((container) => container.state === 'running');
    const readings = await this.#readContainers(running, node?.memory.totalBytes ?? Number.MAX_SAFE_INTEGER);

    const samples: ContainerSample[] = [];
    for (const container of running) {
      const reading = readings.get(container.id);
      const before = this.#lastContainers.get(container.id);
      if (reading && before && labelsFit(container))
        samples.push(
          containerSample(before, reading, {
            containerId: container.id,
            tenantId: container.tenantId,
            podId: container.podId,
            restarts: container.restartCount,
          }),
        );
    }
    // Only what was read this round is kept: a stopped or unreadable container starts again from no reading.
    this.#lastContainers.clear();
    for (const [id, reading] of readings) this.#lastContainers.set(id, reading);
    this.#cgroups.keepOnly(new Set(running.map((container) => container.id)));
    for (const id of this.#viaDocker) if (!readings.has(id)) this.#viaDocker.delete(id);

    const before = this.#lastNode;
    this.#lastNode = node;
    if (!node || !before) return undefined;
    const sample = MetricsSample.safeParse({
      at: at.toISOString(),
      node: nodeSample(before, node),
      containers: samples,
    });
    if (!sample.success) {
      // Never expected (every number is made finite and in range above); a frame the gateway would refuse is
      // worse than a missing round.
      this.#deps.logger.error({ issues: sample.error.issues.slice(0, 3) }, 'a metrics sample was malformed; skipped');
      return undefined;
    }
    return sample.data;
  }

  async #readContainers(running: readonly MeteredContainer[], hostMemoryBytes: number) {
    const readings = new Map<string, ContainerReading>();
    const unreadable: MeteredContainer[] = [];
    for (const container of running) {
      const atMs = this.#now();
      const counters = this.#cgroups.read(container);
      if (counters) readings.set(container.id, { atMs, counters });
      else unreadable.push(container);
    }
    const { dockerStats } = this.#deps;
    if (unreadable.length === 0 || !dockerStats) return readings;
    await mapLimited(
      unreadable,
      async (container) => {
        if (!this.#viaDocker.has(container.id)) {
          this.#viaDocker.add(container.id);
          this.#deps.logger.info(
            { containerId: container.id, cgroups: this.#cgroups.layout },
            "cannot read the container's cgroup files; sampling it through Docker's stats",
          );
        }
        try {
          const atMs = this.#now();
          const counters = countersFromDockerStats(await dockerStats(container.id), hostMemoryBytes);
          if (counters) readings.set(container.id, { atMs, counters });
        } catch (error) {
          this.#deps.logger.debug({ err: error, containerId: container.id }, 'docker stats failed');
        }
      },
      FALLBACK_CONCURRENCY,
    );
    return readings;
  }
}

/** Labels too long for the contract (a container labelled by hand) would make the gateway refuse the frame. */
const labelsFit = (container: MeteredContainer) =>
  container.id.length <= 128 && container.tenantId.length <= 64 && container.podId.length <= 64;
