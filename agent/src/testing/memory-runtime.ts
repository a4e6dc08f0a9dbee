import {
  AppError,
  assertSafe,
  type ContainerDescription,
  type ContainerMount,
  type ContainerSpecInput,
  containerName,
  KeptMount,
  PodLabels,
  podRef,
  type UnmanagedContainer,
} from '@agentpod/contracts';
import { AdoptionRegistry, unknownMounts } from '../adoption/registry.ts';
import { podLabels } from '../runtime/create-options.ts';
import type {
  AdoptionTarget,
  ContainerRuntime,
  CreateResult,
  LogLine,
  LogOptions,
  ObservedContainer,
  RuntimeEvent,
  RuntimeInfo,
  RuntimeVersion,
} from '../runtime/index.ts';
import { adoptedLabels } from '../runtime/inventory.ts';

/*
 * A ContainerRuntime in memory, for tests of the agent's own logic (dispatch, framing, reconnects). It keeps the
 * runtime's promises that matter to callers (idempotent create by name, start/stop of a running/stopped
 * container succeed, remove of a missing one succeeds) and emits events like the engine. Docker itself is tested
 * against the real engine (runtime/docker-runtime.int.test.ts, agent.int.test.ts).
 */
export class MemoryRuntime implements ContainerRuntime {
  readonly containers = new Map<string, ObservedContainer>();
  readonly volumes = new Set<string>();
  readonly calls: string[] = [];
  readonly adoptions = AdoptionRegistry.inMemory();
  /** What `putUnmanaged` gave a container made by hand: its env and mounts. */
  private readonly unmanaged = new Map<string, { env: Record<string, string>; mounts: ContainerMount[] }>();
  /** Lines `logs` yields for every container. */
  logLines: LogLine[] = [];
  private readonly listeners = new Set<(event: RuntimeEvent) => void>();
  private nextId = 1;

  owns(container: Pick<ObservedContainer, 'labels'>): boolean {
    return container.labels[PodLabels.pod] !== undefined;
  }

  async version(): Promise<RuntimeVersion> {
    return { version: '0.0.0-memory', apiVersion: '1.0', os: 'linux', arch: 'x64', kernel: 'memory' };
  }

  async info(): Promise<RuntimeInfo> {
    const running = [...this.containers.values()].filter((c) => c.state === 'running').length;
    return {
      containers: this.containers.size,
      running,
      images: 0,
      cpus: 1,
      memoryBytes: 1 << 30,
      storageDriver: 'memory',
      rootDir: '/',
    };
  }

  async hasImage(): Promise<boolean> {
    return true;
  }

  async ensureImage(): Promise<void> {}

  async create(input: ContainerSpecInput): Promise<CreateResult> {
    const spec = assertSafe(input);
    const name = containerName(spec.tenantId, spec.podId, spec.generation);
    this.calls.push(`create ${name}`);
    if (spec.adopt && this.find(spec.adopt.containerId)) {
      const adopted = await this.adopt(spec.adopt.containerId, spec);
      return { id: adopted.id, name, created: false };
    }
    if (unknownMounts(this.adoptions.keptMounts(spec.tenantId, spec.podId), spec.keptMounts).length > 0)
      throw new AppError('forbidden', `refused: a kept mount no container adopted for the pod had`);
    const existing = this.find(name);
    if (existing) return { id: existing.id, name, created: false };
    if (spec.volume) this.volumes.add(spec.volume.name);
    const id = `c${String(this.nextId++).padStart(63, '0')}`;
    const labels = podLabels(spec);
    this.containers.set(id, {
      id,
      name,
      tenantId: spec.tenantId,
      podId: spec.podId,
      generation: spec.generation,
      image: spec.image,
      imageId: 'sha256:memory',
      state: 'created',
      pid: null,
      exitCode: null,
      oomKilled: false,
      error: null,
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
      restartCount: 0,
      ports: spec.ports.map((p) => ({
        containerPort: p.containerPort,
        protocol: p.protocol,
        hostIp: p.hostIp,
        hostPort: p.hostPort,
      })),
      health: null,
      volume: spec.volume?.name ?? null,
      labels,
    });
    return { id, name, created: true };
  }

  /** Adds a container by hand (one AgentPod did not make, say). */
  put(container: ObservedContainer): void {
    this.containers.set(container.id, container);
  }

  /** A running container made without AgentPod (no labels), with its env and mounts. */
  putUnmanaged(
    id: string,
    name: string,
    extra: { env?: Record<string, string>; mounts?: ContainerMount[] } = {},
  ): ObservedContainer {
    const container: ObservedContainer = {
      id,
      name,
      tenantId: '',
      podId: '',
      generation: 0,
      image: 'agentpod-test/node:1',
      imageId: 'sha256:memory',
      state: 'running',
      pid: 4343,
      exitCode: null,
      oomKilled: false,
      error: null,
      createdAt: new Date().toISOString(),
      startedAt: new Date().toISOString(),
      finishedAt: null,
      restartCount: 0,
      ports: [],
      health: null,
      volume: null,
      labels: {},
    };
    this.containers.set(id, container);
    this.unmanaged.set(id, { env: extra.env ?? {}, mounts: extra.mounts ?? [] });
    return container;
  }

  async discover(): Promise<UnmanagedContainer[]> {
    return [...this.containers.values()]
      .filter((c) => !this.owns(c))
      .map((c) => this.toUnmanaged(c))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async describe(ref: string): Promise<ContainerDescription | null> {
    const found = this.find(ref);
    if (!found) return null;
    if (this.owns(found)) throw new AppError('conflict', `container ${ref} is managed by AgentPod already`);
    const env = this.unmanaged.get(found.id)?.env ?? {};
    return {
      container: this.toUnmanaged(found),
      cmd: null,
      entrypoint: null,
      env,
      restartPolicy: 'no',
      limits: { memoryBytes: null, cpus: null, pids: null },
      escalations: [],
    };
  }

  async adopt(ref: string, owner: AdoptionTarget): Promise<ObservedContainer> {
    this.calls.push(`adopt ${ref}`);
    const container = this.get(ref);
    const earlier = this.adoptions.get(container.id);
    const pod = podRef(owner.tenantId, owner.podId);
    if (earlier && (podRef(earlier.tenantId, earlier.podId) !== pod || earlier.generation !== owner.generation))
      throw new AppError('conflict', `container ${ref} was adopted as another pod already`);
    if (!earlier) {
      if (this.owns(container)) throw new AppError('conflict', `container ${ref} is managed by AgentPod already`);
      const mounts = (this.unmanaged.get(container.id)?.mounts ?? [])
        .filter((m) => m.type === 'volume' || m.type === 'bind')
        .map((m) => KeptMount.parse(m));
      const adoption = {
        containerId: container.id,
        ...owner,
        nodeId: null,
        originalName: container.name,
        adoptedAt: new Date().toISOString(),
      };
      await this.adoptions.record(adoption, mounts);
      Object.assign(container, {
        ...owner,
        name: containerName(owner.tenantId, owner.podId, owner.generation),
        labels: adoptedLabels(container.labels, adoption),
      });
    }
    return structuredClone(container);
  }

  private toUnmanaged(c: ObservedContainer): UnmanagedContainer {
    const extra = this.unmanaged.get(c.id);
    return {
      id: c.id,
      name: c.name,
      image: c.image,
      state: c.state,
      createdAt: c.createdAt,
      startedAt: c.startedAt,
      ports: c.ports,
      mounts: extra?.mounts ?? [],
      envKeys: Object.keys(extra?.env ?? {}),
    };
  }

  async start(ref: string): Promise<void> {
    this.calls.push(`start ${ref}`);
    const container = this.get(ref);
    if (container.state === 'running') return;
    Object.assign(container, { state: 'running', pid: 4242, startedAt: new Date().toISOString(), exitCode: null });
    this.emit('start', container, null);
  }

  async stop(ref: string): Promise<void> {
    this.calls.push(`stop ${ref}`);
    const container = this.get(ref);
    if (container.state !== 'running') return;
    this.exit(container, 0);
  }

  async restart(ref: string): Promise<void> {
    await this.stop(ref);
    await this.start(ref);
  }

  async remove(ref: string): Promise<void> {
    this.calls.push(`remove ${ref}`);
    const container = this.find(ref);
    if (!container) return;
    this.containers.delete(container.id);
    this.emit('destroy', container, null);
  }

  async inspect(ref: string): Promise<ObservedContainer | null> {
    const found = this.find(ref);
    return found ? structuredClone(found) : null;
  }

  async list(): Promise<ObservedContainer[]> {
    return [...this.containers.values()]
      .filter((c) => c.labels[PodLabels.pod] !== undefined)
      .map((c) => structuredClone(c))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async *logs(ref: string, _options?: LogOptions): AsyncGenerator<LogLine> {
    this.get(ref);
    yield* this.logLines;
  }

  async *events(options: { signal?: AbortSignal } = {}): AsyncGenerator<RuntimeEvent> {
    const queue: RuntimeEvent[] = [];
    let wake: (() => void) | undefined;
    const listener = (event: RuntimeEvent) => {
      queue.push(event);
      wake?.();
    };
    this.listeners.add(listener);
    const aborted = () => wake?.();
    options.signal?.addEventListener('abort', aborted);
    try {
      while (!options.signal?.aborted) {
        const event = queue.shift();
        if (event) yield event;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      this.listeners.delete(listener);
      options.signal?.removeEventListener('abort', aborted);
    }
  }

  async createVolume(name: string): Promise<void> {
    this.volumes.add(name);
  }

  async removeVolume(name: string): Promise<void> {
    this.calls.push(`removeVolume ${name}`);
    this.volumes.delete(name);
  }

  /** The container's main process dies with `code` (137: killed), as if from outside. */
  exit(container: ObservedContainer, code: number): void {
    Object.assign(container, { state: 'exited', pid: null, exitCode: code, finishedAt: new Date().toISOString() });
    this.emit('die', container, code);
  }

  private emit(action: RuntimeEvent['action'], container: ObservedContainer, exitCode: number | null): void {
    const event: RuntimeEvent = {
      action,
      id: container.id,
      name: container.name,
      tenantId: container.tenantId,
      podId: container.podId,
      generation: container.generation,
      exitCode,
      signal: null,
      time: new Date().toISOString(),
    };
    for (const listener of this.listeners) listener(event);
  }

  private find(ref: string): ObservedContainer | undefined {
    return this.containers.get(ref) ?? [...this.containers.values()].find((c) => c.name === ref);
  }

  private get(ref: string): ObservedContainer {
    const found = this.find(ref);
    if (!found) throw new AppError('not_found', `No such container: ${ref}`);
    return found;
  }
}
