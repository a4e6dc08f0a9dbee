import {
  type AgentOp,
  type AgentOpInput,
  type AgentOpOutput,
  AppError,
  agentSubjects,
  ContainerSpec,
  type ErrorBody,
  querySubject,
  type RequestMeta,
} from '@agentpod/contracts';
import { request } from '@agentpod/kit';
import type { NatsConnection } from '@nats-io/nats-core';
import type { PlannedAction } from '../plan/model.ts';

/*
 * Carries out one planned action as agent operations (`agent.<nodeId>.cmd.<op>`, relayed by the gateway to the
 * node's socket). Every operation is idempotent on the agent's side, so an action cut short (a lost reply, a
 * reconciler that died) is simply planned and sent again.
 */

export type Outcome = { ok: true; containerId: string | null } | { ok: false; error: ErrorBody };

/** The calls an action needs: agent operations on the action's node and the pods service's container spec. */
export type ActionPorts = {
  agent<K extends AgentOp>(op: K, input: AgentOpInput<K>): Promise<AgentOpOutput<K>>;
  containerSpec(input: { tenantId: string; podId: string; generation: number }): Promise<ContainerSpec>;
};

/** Long enough for a pull of a large image (the agent gives up on its own after 10 minutes). */
const CREATE_TIMEOUT_MS = 11 * 60_000;
const STOP_SECONDS = 10;
const TIMEOUT_MS: Record<AgentOp, number> = {
  facts: 10_000,
  inventory: 30_000,
  createContainer: CREATE_TIMEOUT_MS,
  startContainer: 60_000,
  stopContainer: (STOP_SECONDS + 30) * 1_000,
  restartContainer: (STOP_SECONDS + 60) * 1_000,
  removeContainer: 60_000,
  removeVolume: 60_000,
  discoverContainers: 30_000,
  describeContainer: 30_000,
  adoptContainer: 60_000,
  logs: 30_000,
  terminalOpen: 30_000,
  fileList: 30_000,
  fileStat: 30_000,
  fileDownload: 30_000,
  fileUpload: 30_000,
  fileMkdir: 30_000,
  fileMove: 30_000,
  fileDelete: 60_000,
  fileChmod: 30_000,
};

/** Ports over NATS for one action, every request made as the reconciler within `meta`'s correlation. */
export function natsPorts(nc: NatsConnection, nodeId: string, meta: RequestMeta): ActionPorts {
  return {
    agent: (op, input) => request(nc, agentSubjects.command(nodeId, op), input, meta, { timeoutMs: TIMEOUT_MS[op] }),
    async containerSpec(input) {
      const answer = await request(nc, querySubject('pods', 'containerSpec'), input, meta, { timeoutMs: 15_000 });
      const spec = ContainerSpec.safeParse(answer);
      if (!spec.success) throw new AppError('internal', 'pods.qry.containerSpec answered something that is no spec');
      return spec.data;
    },
  };
}

/** Carries the action out; the marks (markFailing, markRecovered) need no agent and only get recorded. */
export async function carryOut(action: PlannedAction, ports: ActionPorts): Promise<Outcome> {
  try {
    return { ok: true, containerId: await run(action, ports) };
  } catch (error) {
    return { ok: false, error: errorBody(error) };
  }
}

/** Runs the action's operations in order; the container it leaves running (or acted on), if any. */
async function run(action: PlannedAction, ports: ActionPorts): Promise<string | null> {
  switch (action.kind) {
    case 'create':
      return createAndStart(action, ports);
    case 'recreate':
      // The outdated containers go first: the new one takes over their host ports.
      for (const containerId of action.remove) await ports.agent('removeContainer', { containerId });
      return createAndStart(action, ports);
    case 'start':
      await ports.agent('startContainer', { containerId: action.containerId });
      return action.containerId;
    case 'stop':
      await ports.agent('stopContainer', { containerId: action.containerId, timeoutSeconds: STOP_SECONDS });
      return action.containerId;
    case 'restart':
      await ports.agent('restartContainer', { containerId: action.containerId });
      return action.containerId;
    case 'remove': {
      const { remove, volume } = action;
      for (const [i, containerId] of remove.entries()) {
        // The volume goes with the last container, once nothing uses it.
        const last = i === remove.length - 1;
        await ports.agent('removeContainer', { containerId, ...(last && volume ? { volume } : {}) });
      }
      if (remove.length === 0 && volume) await ports.agent('removeVolume', { name: volume });
      return null;
    }
    case 'removeOrphan':
      for (const containerId of action.remove) await ports.agent('removeContainer', { containerId });
      return null;
    case 'markFailing':
    case 'markRecovered':
      return null;
    default: {
      const unknown: never = action;
      throw new Error(`unknown action ${(unknown as PlannedAction).kind}`);
    }
  }
}

async function createAndStart(
  action: { tenantId: string; podId: string; generation: number },
  ports: ActionPorts,
): Promise<string> {
  const { tenantId, podId, generation } = action;
  const spec = await ports.containerSpec({ tenantId, podId, generation });
  if (spec.tenantId !== tenantId || spec.podId !== podId || spec.generation !== generation)
    throw new AppError('internal', `pods.qry.containerSpec answered for another pod or generation`);
  const { containerId } = await ports.agent('createContainer', { spec });
  await ports.agent('startContainer', { containerId });
  return containerId;
}

function errorBody(error: unknown): ErrorBody {
  if (error instanceof AppError) return error.toBody();
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) };
}
