import {
  AppError,
  assertSafe,
  type ContainerDescription,
  type ContainerSpec,
  type ContainerSpecInput,
  ImageRef,
  invalidInput,
  PodLabels,
  podRef,
  type UnmanagedContainer,
} from '@agentpod/contracts';
import type Docker from 'dockerode';
import { type Adoptions, unknownMounts } from '../adoption/registry.ts';
import { toCreateOptions } from './create-options.ts';
import {
  type AdoptionDeps,
  adoptUnmanaged,
  describeUnmanaged,
  discoverUnmanaged,
  rawInspect,
} from './docker-adoption.ts';
import { dockerError, statusOf } from './docker-errors.ts';
import { ownerOf, toObserved } from './inventory.ts';
import { mapLimited } from './limited.ts';
import { jsonLines, LogDemuxer, toRuntimeEvent } from './streams.ts';
import {
  type AdoptionTarget,
  type ContainerRuntime,
  type CreateResult,
  type LogLine,
  type LogOptions,
  type ObservedContainer,
  RUNTIME_EVENT_ACTIONS,
  type RuntimeEvent,
  type RuntimeInfo,
  type RuntimeVersion,
} from './types.ts';

export type DockerRuntimeOptions = {
  /**
   * `missing` pulls an image that is not on the node (production). `never` leaves it to Docker to say
   * "No such image" (tests, which build their images locally, and air-gapped nodes).
   */
  pull?: 'missing' | 'never';
  /** A pull that takes longer fails with `timeout` instead of holding the pod's create forever. */
  pullTimeoutMs?: number;
  /**
   * This node's id, read when needed (a re-join may change it): containers are created with it as
   * `agentpod.node`, and only containers carrying it are listed, watched and acted on. Unset: every AgentPod
   * container on the engine (tests that own their engine).
   */
  nodeId?: () => string | undefined;
  /**
   * The containers this agent adopted (its state directory's registry): reported, watched and acted on like
   * labelled ones of their pods. Unset: nothing is adopted, and `adopt` is unavailable.
   */
  adoptions?: Adoptions;
};

/** The ContainerRuntime over the Docker Engine API (dockerode); no CLI, no shell. */
export class DockerRuntime implements ContainerRuntime {
  private readonly pull: 'missing' | 'never';
  private readonly pullTimeoutMs: number;
  private readonly nodeId: () => string | undefined;
  private readonly adoptions: Adoptions | undefined;
  private readonly adoption: AdoptionDeps;

  constructor(
    private readonly docker: Docker,
    options: DockerRuntimeOptions = {},
  ) {
    this.pull = options.pull ?? 'missing';
    this.pullTimeoutMs = options.pullTimeoutMs ?? 10 * 60_000;
    this.nodeId = options.nodeId ?? (() => undefined);
    this.adoptions = options.adoptions;
    this.adoption = { docker, adoptions: this.adoptions, nodeId: this.nodeId, inspect: (ref) => this.inspect(ref) };
  }

  /** Label filters for this node's AgentPod containers. */
  private scope(): string[] {
    const node = this.nodeId();
    return node === undefined ? [PodLabels.pod] : [PodLabels.pod, `${PodLabels.node}=${node}`];
  }

  owns(container: Pick<ObservedContainer, 'labels'>): boolean {
    const node = this.nodeId();
    return (
      container.labels[PodLabels.pod] !== undefined && (node === undefined || container.labels[PodLabels.node] === node)
    );
  }

  async version(): Promise<RuntimeVersion> {
    const v = await this.docker.version().catch((error) => Promise.reject(dockerError(error, 'docker version')));
    return { version: v.Version, apiVersion: v.ApiVersion, os: v.Os, arch: v.Arch, kernel: v.KernelVersion };
  }

  async info(): Promise<RuntimeInfo> {
    const i = await this.docker.info().catch((error) => Promise.reject(dockerError(error, 'docker info')));
    return {
      containers: i.Containers,
      running: i.ContainersRunning,
      images: i.Images,
      cpus: i.NCPU,
      memoryBytes: i.MemTotal,
      storageDriver: i.Driver,
      rootDir: i.DockerRootDir,
    };
  }

  async hasImage(image: string): Promise<boolean> {
    const ref = ImageRef.safeParse(image);
    if (!ref.success) throw invalidInput(ref.error, 'image reference');
    try {
      await this.docker.getImage(ref.data).inspect();
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw dockerError(error, `inspect image ${image}`);
    }
  }

  async ensureImage(image: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (await this.hasImage(image)) return;
    if (this.pull === 'never') throw new AppError('not_found', `No such image: ${image} (pulling is disabled)`);
    await this.pullImage(image, options.signal);
  }

  private async pullImage(image: string, signal?: AbortSignal): Promise<void> {
    const timeout = AbortSignal.timeout(this.pullTimeoutMs);
    const abortSignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      const stream = (await this.docker.pull(image, { abortSignal })) as AsyncIterable<Buffer>;
      // Docker answers 200 and reports a failure inside the progress stream; it has to be read to the end.
      for await (const progress of jsonLines(stream))
        if (typeof progress.error === 'string') throw new AppError('not_found', `pull ${image}: ${progress.error}`);
    } catch (error) {
      throw dockerError(error, `pull ${image}`);
    }
  }

  async create(input: ContainerSpecInput): Promise<CreateResult> {
    const spec = assertSafe(input);
    if (spec.adopt) {
      const adopted = await this.adopt(spec.adopt.containerId, spec).catch((error: unknown) => {
        // Gone (removed by hand since): the pod's container is made from its spec like any other.
        if (error instanceof AppError && error.code === 'not_found') return null;
        throw error;
      });
      if (adopted) return { id: adopted.id, name: adopted.name, created: false };
    }
    const unknown = unknownMounts(this.adoptions?.keptMounts(spec.tenantId, spec.podId) ?? [], spec.keptMounts);
    if (unknown.length > 0)
      throw new AppError(
        'forbidden',
        `refused: ${unknown.map((m) => `${m.source} → ${m.destination}`).join(', ')} was never mounted by a ` +
          `container adopted for pod ${podRef(spec.tenantId, spec.podId)} on this node`,
      );
    if (spec.volume) await this.createVolume(spec.volume.name, spec);
    const node = this.nodeId();
    const body = toCreateOptions(spec, node === undefined ? {} : { [PodLabels.node]: node });
    const name = body.name ?? '';
    let pulled = false;
    for (let attempt = 1; ; attempt++) {
      try {
        // `_query`/`_body`: docker-modem would otherwise copy the whole body, env and secrets included, into the
        // URL, where it is both visible and limited in length.
        const options = { _query: { name }, _body: { ...body, name: undefined } };
        const container = await this.docker.createContainer(options as unknown as Docker.ContainerCreateOptions);
        return { id: container.id, name, created: true };
      } catch (error) {
        const status = statusOf(error);
        if (status === 409) {
          const existing = await this.existing(name, spec);
          if (existing) return existing;
          // The name is taken but no container has it yet: a concurrent create is in flight. Ask again shortly.
          if (attempt < 50) await new Promise((resolve) => setTimeout(resolve, 20 * Math.min(attempt, 5)));
          else throw new AppError('conflict', `create ${name}: the name stays taken by a create that never ends`);
          continue;
        }
        if (status === 404 && this.pull === 'missing' && !pulled) {
          await this.pullImage(spec.image);
          pulled = true;
          continue;
        }
        throw dockerError(error, `create ${name}`);
      }
    }
  }

  /** The container a create of the same key made (null: none yet); a different one under that name conflicts. */
  private async existing(name: string, spec: ContainerSpec): Promise<CreateResult | null> {
    const found = await this.inspect(name);
    if (!found) return null;
    if (found.labels[PodLabels.pod] !== podRef(spec.tenantId, spec.podId) || found.generation !== spec.generation)
      throw new AppError('conflict', `create ${name}: a different container has that name`);
    return { id: found.id, name, created: false };
  }

  async start(ref: string): Promise<void> {
    await this.docker
      .getContainer(ref)
      .start()
      .catch((error) => {
        if (statusOf(error) !== 304) throw dockerError(error, `start ${ref}`); // 304: already running
      });
  }

  async stop(ref: string, options: { timeoutSeconds?: number } = {}): Promise<void> {
    await this.docker
      .getContainer(ref)
      .stop({ t: options.timeoutSeconds ?? 10 })
      .catch((error) => {
        if (statusOf(error) !== 304) throw dockerError(error, `stop ${ref}`); // 304: already stopped
      });
  }

  async restart(ref: string, options: { timeoutSeconds?: number } = {}): Promise<void> {
    await this.docker
      .getContainer(ref)
      .restart({ t: options.timeoutSeconds ?? 10 })
      .catch((error) => Promise.reject(dockerError(error, `restart ${ref}`)));
  }

  async remove(ref: string, options: { volume?: boolean } = {}): Promise<void> {
    const adopting = (this.adoptions?.all().length ?? 0) > 0;
    const found = options.volume || adopting ? await this.inspect(ref) : null;
    const adopted = found ? this.adoptions?.get(found.id) : undefined;
    try {
      // v: anonymous volumes an image declares (VOLUME) go with the container instead of piling up. Not for an
      // adopted container: its anonymous volumes hold data its pod's next generations keep mounting.
      await this.docker.getContainer(ref).remove({ force: true, v: !adopted });
    } catch (error) {
      if (statusOf(error) !== 404) throw dockerError(error, `remove ${ref}`);
    }
    if (adopted) await this.adoptions?.forget(adopted.containerId);
    if (options.volume && found?.volume) await this.removeVolume(found.volume);
  }

  async inspect(ref: string): Promise<ObservedContainer | null> {
    const info = await rawInspect(this.docker, ref);
    return info ? toObserved(info, this.adoptions?.get(info.Id)) : null;
  }

  async list(): Promise<ObservedContainer[]> {
    const summaries = await this.docker
      .listContainers({ all: true, filters: { label: this.scope() } })
      .catch((error) => Promise.reject(dockerError(error, 'list containers')));
    const adopted = this.adoptions?.all() ?? [];
    const ids = [...new Set([...summaries.map((summary) => summary.Id), ...adopted.map((a) => a.containerId)])];
    const found = await mapLimited(ids, (id) => this.inspect(id));
    // An adopted container removed while the agent was away is forgotten; one adopted for another node is not ours.
    for (const adoption of adopted)
      if (!found.some((container) => container?.id === adoption.containerId))
        await this.adoptions?.forget(adoption.containerId);
    return found
      .filter((container): container is ObservedContainer => container !== null && this.owns(container))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async *logs(ref: string, options: LogOptions = {}): AsyncGenerator<LogLine> {
    const container = this.docker.getContainer(ref);
    const base = {
      stdout: true,
      stderr: true,
      timestamps: true,
      tail: options.tail ?? 100,
      ...(options.since ? { since: Math.floor(options.since.getTime() / 1000) } : {}),
      ...(options.signal ? { abortSignal: options.signal } : {}),
    };
    const demuxer = new LogDemuxer();
    if (!options.follow) {
      const buffer = await container
        .logs({ ...base, follow: false })
        .catch((error) => Promise.reject(dockerError(error, `logs ${ref}`)));
      yield* demuxer.push(buffer);
      yield* demuxer.end();
      return;
    }
    const stream = await container
      .logs({ ...base, follow: true })
      .catch((error) => Promise.reject(dockerError(error, `logs ${ref}`)));
    yield* this.read(stream, options.signal, `logs ${ref}`, (chunk: Buffer) => demuxer.push(chunk));
    yield* demuxer.end();
  }

  async *events(options: { since?: Date; signal?: AbortSignal } = {}): AsyncGenerator<RuntimeEvent> {
    // Adopted containers carry none of AgentPod's labels: with a registry, every container's events come and the
    // ones of this node's AgentPod containers and adopted containers are kept here.
    const filters = this.adoptions
      ? { type: ['container'], event: [...RUNTIME_EVENT_ACTIONS] }
      : { type: ['container'], label: this.scope(), event: [...RUNTIME_EVENT_ACTIONS] };
    const stream = await this.docker
      .getEvents({
        filters,
        ...(options.since ? { since: Math.floor(options.since.getTime() / 1000) } : {}),
        ...(options.signal ? { abortSignal: options.signal } : {}),
      } as Docker.GetEventsOptions)
      .catch((error) => Promise.reject(dockerError(error, 'docker events')));
    const lines = jsonLines(stream as AsyncIterable<Buffer>);
    yield* this.read(lines, options.signal, 'docker events', (raw: Record<string, unknown>) => {
      const event = toRuntimeEvent(raw);
      if (!event || !this.adoptions) return event ? [event] : [];
      const adoption = this.adoptions.get(event.id);
      if (!adoption) {
        const labels = (raw as { Actor?: { Attributes?: Record<string, string> } }).Actor?.Attributes ?? {};
        return this.owns({ labels }) ? [event] : [];
      }
      if (event.action === 'destroy') void this.adoptions.forget(event.id).catch(() => {});
      return [{ ...event, ...ownerOf(adoption) }];
    });
  }

  /** Reads a stream until it ends or `signal` aborts (an ending, not an error); destroys it when left early. */
  private async *read<C, T>(
    source: AsyncIterable<C> | NodeJS.ReadableStream,
    signal: AbortSignal | undefined,
    doing: string,
    map: (chunk: C) => T[],
  ): AsyncGenerator<T> {
    const stream = source as AsyncIterable<C> & { destroy?: () => void };
    const stop = () => stream.destroy?.();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      for await (const chunk of stream) yield* map(chunk);
    } catch (error) {
      if (!signal?.aborted) throw dockerError(error, doing);
    } finally {
      signal?.removeEventListener('abort', stop);
      stop();
    }
  }

  async createVolume(name: string, owner: { tenantId: string; podId: string }): Promise<void> {
    const labels = { [PodLabels.pod]: podRef(owner.tenantId, owner.podId), [PodLabels.tenant]: owner.tenantId };
    try {
      const existing = await this.docker.getVolume(name).inspect();
      if (existing.Labels?.[PodLabels.pod] !== labels[PodLabels.pod])
        throw new AppError('conflict', `volume ${name} exists and belongs to another pod`);
      return;
    } catch (error) {
      if (statusOf(error) !== 404) throw dockerError(error, `inspect volume ${name}`);
    }
    await this.docker
      .createVolume({ Name: name, Driver: 'local', Labels: labels })
      .catch((error) => Promise.reject(dockerError(error, `create volume ${name}`)));
  }

  discover(): Promise<UnmanagedContainer[]> {
    return discoverUnmanaged(this.adoption);
  }

  describe(ref: string): Promise<ContainerDescription | null> {
    return describeUnmanaged(this.adoption, ref);
  }

  adopt(ref: string, owner: AdoptionTarget): Promise<ObservedContainer> {
    return adoptUnmanaged(this.adoption, ref, owner);
  }

  async removeVolume(name: string): Promise<void> {
    try {
      await this.docker.getVolume(name).remove();
    } catch (error) {
      if (statusOf(error) !== 404) throw dockerError(error, `remove volume ${name}`);
    }
  }
}
