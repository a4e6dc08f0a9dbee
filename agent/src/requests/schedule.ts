import { type AgentOp, type AgentOpInput, PodLabels } from '@agentpod/contracts';
import type { ContainerRuntime } from '../runtime/index.ts';
import type { Limiter } from './limiter.ts';
import type { PodLanes } from './pod-lanes.ts';

/** Runs one parsed operation: when, and beside what, is the schedule's business. */
export type Schedule = (op: AgentOp, input: unknown, task: () => Promise<unknown>) => Promise<unknown>;

/** Runs every operation at once: for tests of what an operation does rather than when. */
export const immediately: Schedule = (_op, _input, task) => task();

/** `agentpod-<tenant>_<pod>`: the pod a volume belongs to (`volumeName`). */
export const POD_VOLUME = /^agentpod-([a-z0-9-]+)_([a-z0-9-]+)$/;

/**
 * The pod an operation acts on, which names its lane; null for operations that change nothing (facts, inventory,
 * logs, discovery, description) and for the workspace's, which never wait for a pod. A container is placed by its
 * `agentpod.pod` label (an adopted one's too: the runtime reports it with its pod's labels); one the node does not
 * know gets a lane of its own, so a retry of the same request still waits for the first.
 */
export async function laneOf(
  op: AgentOp,
  input: unknown,
  runtime: Pick<ContainerRuntime, 'inspect'>,
): Promise<string | null> {
  const podOfContainer = async (containerId: string) =>
    (await runtime.inspect(containerId))?.labels[PodLabels.pod] ?? `container:${containerId}`;
  switch (op) {
    case 'facts':
    case 'inventory':
    case 'logs':
    case 'discoverContainers':
    case 'describeContainer':
      return null;
    // The workspace acts on files and processes, not on a pod's container: a terminal or a file operation never
    // waits behind a pod's lifecycle (a slow image pull), and they run side by side.
    case 'terminalOpen':
    case 'fileList':
    case 'fileStat':
    case 'fileDownload':
    case 'fileUpload':
    case 'fileMkdir':
    case 'fileMove':
    case 'fileDelete':
    case 'fileChmod':
      return null;
    case 'createContainer': {
      const { spec } = input as AgentOpInput<'createContainer'>;
      return `${spec.tenantId}/${spec.podId}`;
    }
    case 'adoptContainer': {
      const { tenantId, podId } = input as AgentOpInput<'adoptContainer'>;
      return `${tenantId}/${podId}`;
    }
    case 'startContainer':
    case 'stopContainer':
    case 'restartContainer':
    case 'removeContainer':
      return podOfContainer((input as AgentOpInput<'startContainer'>).containerId);
    case 'removeVolume': {
      const { name } = input as AgentOpInput<'removeVolume'>;
      const match = POD_VOLUME.exec(name);
      return match ? `${match[1]}/${match[2]}` : `volume:${name}`;
    }
    default: {
      const never: never = op;
      throw new Error(`no lane rule for ${String(never)}`);
    }
  }
}

/**
 * The agent's schedule: at most `limiter`'s concurrency of operations run at once, and one at a time per pod.
 * An operation waiting for its pod's lane holds no slot of the limiter, so a pod with a long queue (a slow image
 * pull ahead of a restart) never starves the others.
 */
export function podSchedule(deps: {
  runtime: Pick<ContainerRuntime, 'inspect'>;
  limiter: Limiter;
  lanes: PodLanes;
}): Schedule {
  const { runtime, limiter, lanes } = deps;
  return async (op, input, task) => {
    const lane = await limiter.run(() => laneOf(op, input, runtime));
    return lane === null ? limiter.run(task) : lanes.run(lane, () => limiter.run(task));
  };
}
