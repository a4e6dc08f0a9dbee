import type { ContainerDescription, ContainerSpecInput, UnmanagedContainer } from '@agentpod/contracts';

/*
 * What the agent needs from a container engine, and nothing more. The reconciler drives these operations from
 * afar and retries them, so every one is idempotent and keyed: a create of a (tenant, pod, generation) that
 * exists returns the existing container, a start of a running one or a remove of a missing one succeeds.
 * Containers are addressed by id or by name (`containerName(tenant, pod, generation)`).
 *
 * These shapes become the agent's inventory and observation messages; when that protocol is written they move to
 * `packages/contracts` as zod schemas.
 */

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export type ObservedPort = { containerPort: number; protocol: 'tcp' | 'udp'; hostIp: string; hostPort: number };

/** One AgentPod-labelled container as the engine sees it now. */
export type ObservedContainer = {
  id: string;
  name: string;
  /** From the `agentpod.*` labels, as written (a container adopted or made by hand may carry odd ones). */
  tenantId: string;
  podId: string;
  generation: number;
  /** The image reference the container was created from, and the image id it resolved to. */
  image: string;
  imageId: string;
  state: ContainerState;
  /** The main process's pid on the host while it runs. */
  pid: number | null;
  /** The last exit code; null while it has never exited. */
  exitCode: number | null;
  oomKilled: boolean;
  /** The engine's error from the last start (e.g. a missing executable), if any. */
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Restarts done by the engine itself; AgentPod sets its restart policy to `no`, so normally 0. */
  restartCount: number;
  ports: ObservedPort[];
  /**
   * AgentPod's own probe of the current run (`agentpod.health` label), filled in by the agent's prober
   * (`health/`); the engine leaves it null. The image's own Docker HEALTHCHECK is not AgentPod's and is left out.
   */
  health: 'starting' | 'healthy' | 'unhealthy' | null;
  /** The named volume mounted at the pod's mount path, if any. */
  volume: string | null;
  labels: Record<string, string>;
};

export type LogLine = { stream: 'stdout' | 'stderr' /** RFC 3339 from the engine */; time: string; text: string };

export const RUNTIME_EVENT_ACTIONS = ['start', 'die', 'oom', 'kill', 'destroy'] as const;
export type RuntimeEventAction = (typeof RUNTIME_EVENT_ACTIONS)[number];

/** A state change of an AgentPod-labelled container, as the engine reports it. */
export type RuntimeEvent = {
  action: RuntimeEventAction;
  id: string;
  name: string;
  tenantId: string;
  podId: string;
  generation: number;
  /** On `die`: the main process's exit code (137 after SIGKILL). */
  exitCode: number | null;
  /** On `kill`: the signal sent. */
  signal: string | null;
  time: string;
};

/** The pod and generation an adopted container becomes. */
export type AdoptionTarget = { tenantId: string; podId: string; generation: number };

export type CreateResult = { id: string; name: string /** false when it existed already */; created: boolean };

export type RuntimeVersion = { version: string; apiVersion: string; os: string; arch: string; kernel: string };
export type RuntimeInfo = {
  containers: number;
  running: number;
  images: number;
  cpus: number;
  memoryBytes: number;
  storageDriver: string;
  rootDir: string;
};

export type LogOptions = {
  /** Lines from the end to start with (default 100). */
  tail?: number;
  /** Keep the iterable open and yield new lines until the container stops or `signal` aborts. */
  follow?: boolean;
  since?: Date;
  signal?: AbortSignal;
};

export interface ContainerRuntime {
  /** Whether the agent may act on this container: AgentPod's, and (when the runtime is scoped) this node's. */
  owns(container: Pick<ObservedContainer, 'labels'>): boolean;
  version(): Promise<RuntimeVersion>;
  info(): Promise<RuntimeInfo>;
  hasImage(image: string): Promise<boolean>;
  /** Makes the image present, pulling it when allowed; `not_found` with the engine's words when it cannot. */
  ensureImage(image: string, options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Validates the spec (`assertSafe`; kept mounts only as the pod's adopted containers had them), ensures its
   * volume, creates the hardened container (not started). A spec with `adopt` takes that container over instead
   * (as `adopt`), unless it is gone, when the container is created from the spec.
   */
  create(spec: ContainerSpecInput): Promise<CreateResult>;
  start(ref: string): Promise<void>;
  /** SIGTERM, then SIGKILL after `timeoutSeconds` (default 10). */
  stop(ref: string, options?: { timeoutSeconds?: number }): Promise<void>;
  restart(ref: string, options?: { timeoutSeconds?: number }): Promise<void>;
  /** Removes the container (killing it if it runs) and, with `volume`, the pod's named volume too. */
  remove(ref: string, options?: { volume?: boolean }): Promise<void>;
  /** null when there is no such container. */
  inspect(ref: string): Promise<ObservedContainer | null>;
  /** Every AgentPod-labelled container, running or not: the node's inventory. */
  list(): Promise<ObservedContainer[]>;
  logs(ref: string, options?: LogOptions): AsyncIterable<LogLine>;
  /** Start/die/oom/kill/destroy of AgentPod-labelled containers until `signal` aborts or the engine goes away. */
  events(options?: { since?: Date; signal?: AbortSignal }): AsyncIterable<RuntimeEvent>;
  createVolume(name: string, owner: { tenantId: string; podId: string }): Promise<void>;
  /** Containers that are not AgentPod's (no `agentpod.pod` label, not adopted), running or not. */
  discover(): Promise<UnmanagedContainer[]>;
  /** One such container in full, by id, id prefix or name; null when there is none; `conflict` when managed. */
  describe(ref: string): Promise<ContainerDescription | null>;
  /**
   * Takes an unmanaged container over as the pod's generation without restarting it (recorded in the adoption
   * registry, renamed to the generation's container name, Docker's restart policy set to `no`); the same call
   * again answers the same. `not_found`, `conflict` (AgentPod's already, or another pod's), `forbidden` (it runs
   * privileged, on the host's network…).
   */
  adopt(ref: string, owner: AdoptionTarget): Promise<ObservedContainer>;
  /** Succeeds when it is already gone; `conflict` while a container uses it. */
  removeVolume(name: string): Promise<void>;
}
