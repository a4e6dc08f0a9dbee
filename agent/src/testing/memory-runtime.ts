import { AppError, assertSafe, type ContainerSpecInput, containerName, PodLabels } from '@agentpod/contracts';
import { podLabels } from '../runtime/create-options.ts';
import type {
  ContainerRuntime,
  CreateResult,
  LogLine,
  LogOptions,
  ObservedContainer,
  RuntimeEvent,
  RuntimeInfo,
  RuntimeVersion,
} from '../runtime/index.ts';

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
