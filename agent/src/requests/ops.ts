import { type AgentOp, type AgentOpOutput, type AgentOps, AppError, type NodeFacts } from '@agentpod/contracts';
import type { z } from 'zod';
import type { ContainerRuntime, LogLine } from '../runtime/index.ts';

/** What an op's handler gets: its input after the op's schema parsed it (defaults applied). */
export type OpInput<K extends AgentOp> = z.output<(typeof AgentOps)[K]['input']>;
export type OpHandlers = { [K in AgentOp]: (input: OpInput<K>) => Promise<AgentOpOutput<K>> };

/** Starts following a container's logs for a session, after the lines the reply already carries. */
export type FollowLogs = (session: { sessionId: string; containerId: string; after: LogLine | undefined }) => void;

export type OpDeps = {
  runtime: ContainerRuntime;
  facts: () => Promise<NodeFacts>;
  followLogs: FollowLogs;
};

/** Volumes AgentPod makes are named `agentpod-<tenant>_<pod>` (`volumeName`); no other volume is the agent's. */
const VOLUME_PREFIX = 'agentpod-';

/** A log reply stays well under NATS's 1 MiB message limit, keeping the newest lines. */
export const MAX_LOG_REPLY_BYTES = 512 * 1024;

/**
 * The agent's operations over the ContainerRuntime. Each is idempotent (the runtime's create returns the
 * existing container, stop/remove of a stopped/missing one succeed), so the control plane may retry any of them.
 * The agent acts only on AgentPod's own containers and volumes: a container without the `agentpod.pod` label or a
 * volume not named by `volumeName` is refused, whatever the request says.
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
    facts: () => deps.facts(),
    inventory: async () => ({ containers: await runtime.list() }),
    createContainer: async ({ spec }) => {
      const created = await runtime.create(spec);
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
