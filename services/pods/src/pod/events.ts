import {
  type Encrypted,
  type EnvelopeOf,
  type KeptMount,
  type PodSpec,
  type PortBinding,
  podEvents,
} from '@agentpod/contracts';
import type { AggregateDefinition } from '@agentpod/kit';
import { unreachable } from '../never.ts';

/**
 * The pod aggregate (`pods.evt.pod_<tenant>_<pod>`): what the operator wants of one pod. Secret values and the
 * access token are stored only encrypted; the state holds the ciphertexts.
 */
export const podAggregateEvents = podEvents;
export type PodEvents = typeof podAggregateEvents;
export type PodEvent = EnvelopeOf<PodEvents>;

export type Pod = {
  tenantId: string;
  podId: string;
  nodeId: string;
  spec: PodSpec;
  secrets: Readonly<Record<string, Encrypted>>;
  ports: PortBinding[];
  volumeName: string | null;
  accessToken: Encrypted;
  generation: number;
  /** An adopted pod's volumes and binds, mounted by every generation (empty for a pod created by AgentPod). */
  keptMounts: KeptMount[];
  /** The container an adoption took over, and as which generation (null: created by AgentPod). */
  adopted: { containerId: string; generation: number } | null;
  desired: 'running' | 'stopped';
  restartId: string | null;
  createdAt: string;
  updatedAt: string;
};

/**
 * `none`: never created; `live`; `deleted`: its name can be taken again, and a new pod under it continues the
 * count of generations (`generation` is the last one used).
 */
export type PodState =
  | { status: 'none' }
  | ({ status: 'live' } & Pod)
  | ({ status: 'deleted'; keepVolume: boolean } & Pod);

export const initialPodState: PodState = { status: 'none' };

export function evolvePod(state: PodState, event: PodEvent): PodState {
  if (event.type === 'PodCreated' || event.type === 'PodAdopted') {
    const { tenantId, podId, nodeId, spec, secrets, ports, accessToken, generation } = event.data;
    const adoption =
      event.type === 'PodAdopted'
        ? {
            volumeName: null,
            keptMounts: event.data.keptMounts,
            adopted: { containerId: event.data.containerId, generation },
          }
        : { volumeName: event.data.volumeName, keptMounts: [], adopted: null };
    return {
      status: 'live',
      tenantId,
      podId,
      nodeId,
      spec,
      secrets,
      ports,
      accessToken,
      generation,
      ...adoption,
      desired: 'running',
      restartId: null,
      createdAt: event.occurredAt,
      updatedAt: event.occurredAt,
    };
  }
  if (state.status !== 'live') return state;
  const at = { updatedAt: event.occurredAt };
  switch (event.type) {
    case 'PodUpdated': {
      const { spec, secrets, ports, generation } = event.data;
      return { ...state, ...at, spec, secrets, ports, generation };
    }
    case 'PodStopped':
      return { ...state, ...at, desired: 'stopped' };
    case 'PodStarted':
      return { ...state, ...at, desired: 'running' };
    case 'PodRestartRequested':
      return { ...state, ...at, restartId: event.data.restartId };
    case 'PodAccessTokenRotated':
      return { ...state, ...at, accessToken: event.data.accessToken, generation: event.data.generation };
    case 'PodDeleted':
      return { ...state, ...at, status: 'deleted', keepVolume: event.data.keepVolume };
    default:
      return unreachable(event);
  }
}

export const podAggregate: AggregateDefinition<PodState, PodEvents> = {
  context: 'pods',
  events: podAggregateEvents,
  initialState: initialPodState,
  evolve: evolvePod,
};
