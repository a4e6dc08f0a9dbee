import { type AgentOp, type AgentOpOutput, type AgentOps, AppError, type NodeFacts } from '@agentpod/contracts';
import type { z } from 'zod';
import type { ContainerRuntime, LogLine } from '../runtime/index.ts';
import type { WorkspaceHandlers } from '../workspace/index.ts';

/** What an op's handler gets: its input after the op's schema parsed it (defaults applied). */
export type OpInput<K extends AgentOp> = z.output<(typeof AgentOps)[K]['input']>;
export type OpHandlers = { [K in AgentOp]: (input: OpInput<K>) => Promise<AgentOpOutput<K>> };

/** Starts following a container's logs for a session, after the lines the reply already carries. */
export type FollowLogs = (session: { sessionId: string; containerId: string; after: LogLine | undefined }) => void;

export type OpDeps = {
  runtime: ContainerRuntime;
  facts: () => Promise<NodeFacts>;
  followLogs: FollowLogs;
  /**
   * A container was adopted: no Docker event says so (a rename is not one the agent watches), so the agent sends
   * a fresh inventory for the control plane to see it as its pod's.
   */
  onAdopted?: () => void;
  /** Terminals and files (workspace/); absent: each answers `unavailable` (tests of the container ops). */
  workspace?: WorkspaceHandlers;
};

const noWorkspace = async (): Promise<never> => {
  throw new AppError('unavailable', 'this agent has no workspace (terminals and files)');
};

/** Workspace handlers that all refuse: for an agent (or a test) built without one. */
export const NO_WORKSPACE: WorkspaceHandlers = {
  terminalOpen: noWorkspace,
  fileList: noWorkspace,
  fileStat: noWorkspace,
  fileDownload: noWorkspace,
  fileUpload: noWorkspace,
  fileMkdir: noWorkspace,
  fileMove: noWorkspace,
  fileDelete: noWorkspace,
  fileChmod: noWorkspace,
};

/** Volumes AgentPod makes are named `agentpod-<tenant>_<pod>` (`volumeName`); no other volume is the agent's. */
const VOLUME_PREFIX = 'agentpod-';

/** A log reply stays well under NATS's 1 MiB message limit, keeping the newest lines. */
export const MAX_LOG_REPLY_BYTES = 512 * 1024;

/**
 * The agent's operations over the ContainerRuntime. Each is idempotent (the runtime's create returns the
 * existing container, stop/remove of a stopped/missing one succeed, an adoption again answers the same), so the
 * control plane may retry any of them. The agent acts only on AgentPod's own containers and volumes: a container
 * without the `agentpod.pod` label (and not adopted) or a volume not named by `volumeName` is refused, whatever
 * the request says. Containers that are not AgentPod's are only listed, described and adopted.
 */
export function createOps(deps: OpDeps): OpHandlers {
  const { runtime } = deps;
  const managed = async (containerId: string) => {
    const found = await runtime.inspect(containerId);
    if (found && !runtime.owns(found))
      throw new AppError('forbidden', `container ${containerId} is not managed by AgentPod on this node`);
    return found;
  };
  const ownVolume = (name: string) => {
    if (!name.startsWith(VOLUME_PREFIX))
      throw new AppError('invalid', `volume ${name} is not an AgentPod volume (${VOLUME_PREFIX}…)`);
    return name;
  };
  return {
    // Terminals and files: workspace/ checks what they touch (AgentPod's containers, pod volumes, allowed roots).
    ...(deps.workspace ?? NO_WORKSPACE),
    facts: () => deps.facts(),
    inventory: async () => ({ containers: await runtime.list() }),
    createContainer: async ({ spec }) => {
      const created = await runtime.create(spec);
      if (spec.adopt) deps.onAdopted?.();
      return { containerId: created.id, created: created.created };
    },
    startContainer: async ({ containerId }) => {
      await managed(containerId);
      await runtime.start(containerId);
      return {};
    },
    stopContainer: async ({ containerId, timeoutSeconds }) => {
      if (!(await managed(containerId))) return {}; // gone: stopped enough
      await runtime.stop(containerId, { timeoutSeconds });
      return {};
    },
    restartContainer: async ({ containerId }) => {
      await managed(containerId);
      await runtime.restart(containerId);
      return {};
    },
    removeContainer: async ({ containerId, volume }) => {
      const volumeName = volume === undefined ? undefined : ownVolume(volume);
      if (await managed(containerId)) await runtime.remove(containerId);
      if (volumeName) await runtime.removeVolume(volumeName);
      return {};
    },
    removeVolume: async ({ name }) => {
      await runtime.removeVolume(ownVolume(name));
      return {};
    },
    discoverContainers: async () => ({ containers: await runtime.discover() }),
    describeContainer: async ({ containerId }) => {
      const described = await runtime.describe(containerId);
      if (!described) throw new AppError('not_found', `no container ${containerId} on this node`);
      return described;
    },
    adoptContainer: async ({ containerId, tenantId, podId, generation }) => {
      const adopted = await runtime.adopt(containerId, { tenantId, podId, generation });
      deps.onAdopted?.();
      return adopted;
    },
    logs: async ({ containerId, tail, sessionId }) => {
      if (!(await managed(containerId))) throw new AppError('not_found', `no such container: ${containerId}`);
      const lines: LogLine[] = [];
      for await (const line of runtime.logs(containerId, { tail })) lines.push(line);
      const kept = newestWithin(lines, MAX_LOG_REPLY_BYTES);
      if (sessionId) deps.followLogs({ sessionId, containerId, after: lines.at(-1) });
      return { lines: kept };
    },
  };
}

/** The newest lines whose JSON fits in `bytes` (a container that logs megabytes per line gets fewer of them). */
export function newestWithin(lines: LogLine[], bytes: number): LogLine[] {
  let total = 0;
  let first = lines.length;
  while (first > 0) {
    const line = lines[first - 1] as LogLine;
    total += Buffer.byteLength(line.text) + line.time.length + 40;
    if (total > bytes) break;
    first -= 1;
  }
  return first === 0 ? lines : lines.slice(first);
}
