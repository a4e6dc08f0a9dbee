import { AppError, type Encrypted, type KeptMount, type PodSpec, type PortBinding, podRef } from '@agentpod/contracts';
import type { Decision } from '@agentpod/kit';
import { unreachable } from '../never.ts';
import type { PodEvents, PodState } from './events.ts';
import { applyPatch, checkContainerEnv, type UpdatePodInput } from './spec.ts';

/** Where an update's new ports came from: allocated on the node against the pod's ports `base`. */
export type Replacement = { base: readonly PortBinding[]; ports: PortBinding[] };

/** Commands on one pod. Ciphertexts, tokens and ids are made by the handler: the decider stays pure. */
export type PodCommand = { tenantId: string; podId: string } & (
  | {
      type: 'CreatePod';
      nodeId: string;
      spec: PodSpec;
      secrets: Record<string, Encrypted>;
      ports: PortBinding[];
      volumeName: string | null;
      accessToken: Encrypted;
    }
  /** A running container becomes the pod as it runs (`adopt.ts` built the spec from it and claimed its ports). */
  | {
      type: 'AdoptPod';
      nodeId: string;
      spec: PodSpec;
      secrets: Record<string, Encrypted>;
      ports: PortBinding[];
      keptMounts: KeptMount[];
      accessToken: Encrypted;
      containerId: string;
    }
  /** `secrets`: the values set by this update, encrypted. `placement`: set when ports or limits change. */
  | { type: 'UpdatePod'; patch: UpdatePodInput; secrets: Record<string, Encrypted>; placement?: Replacement }
  | { type: 'StopPod' }
  | { type: 'StartPod' }
  | { type: 'RestartPod'; restartId: string }
  | { type: 'RotateToken'; accessToken: Encrypted }
  | { type: 'DeletePod'; keepVolume: boolean }
);

/** Bytes of a ciphertext's plaintext (GCM keeps the length), to size the container env without decrypting. */
const plainLength = (value: Encrypted): number => Buffer.from(value.data, 'base64').length;

const sameBindings = (a: readonly PortBinding[], b: readonly PortBinding[]): boolean =>
  JSON.stringify(a) === JSON.stringify(b);

/** Whether the ports a spec asks for, and the limits a node accounts, differ: then the node must be asked. */
export function needsPlacement(before: PodSpec, after: PodSpec): boolean {
  const ports = (spec: PodSpec) => spec.ports.map((p) => `${p.containerPort}/${p.protocol}/${p.public}`).join();
  return (
    ports(before) !== ports(after) ||
    before.limits.memoryBytes !== after.limits.memoryBytes ||
    before.limits.cpus !== after.limits.cpus
  );
}

export function decidePod(command: PodCommand, state: PodState): Decision<PodEvents> {
  const { tenantId, podId } = command;
  const ref = podRef(tenantId, podId);
  if (command.type === 'CreatePod') {
    if (state.status === 'live') return new AppError('conflict', `pod ${ref} exists already`);
    const { nodeId, spec, secrets, ports, volumeName, accessToken } = command;
    const generation = state.status === 'deleted' ? state.generation + 1 : 1;
    const data = { tenantId, podId, nodeId, spec, secrets, ports, volumeName, accessToken, generation };
    return [{ type: 'PodCreated', data, tenantId }];
  }
  if (command.type === 'AdoptPod') {
    if (state.status === 'live') return new AppError('conflict', `pod ${ref} exists already; adopt as another pod id`);
    const { nodeId, spec, secrets, ports, keptMounts, accessToken, containerId } = command;
    const generation = state.status === 'deleted' ? state.generation + 1 : 1;
    const data = { tenantId, podId, nodeId, spec, secrets, ports, keptMounts, accessToken, generation, containerId };
    return [{ type: 'PodAdopted', data, tenantId }];
  }
  if (state.status !== 'live') return new AppError('not_found', `no pod ${ref}`);
  switch (command.type) {
    case 'UpdatePod': {
      let spec: PodSpec;
      try {
        spec = applyPatch(state.spec, command.patch);
      } catch (error) {
        if (error instanceof AppError) return error;
        throw error;
      }
      const raced = new AppError('conflict', `${ref} changed while this update ran; try again`);
      let ports = state.ports;
      if (command.placement) {
        if (!sameBindings(state.ports, command.placement.base)) return raced;
        const asked = spec.ports.map((p) => `${p.containerPort}/${p.protocol}`).join();
        if (command.placement.ports.map((p) => `${p.containerPort}/${p.protocol}`).join() !== asked) return raced;
        ports = command.placement.ports;
      } else if (needsPlacement(state.spec, spec)) {
        return raced;
      }
      const unset = new Set(command.patch.unsetSecrets ?? []);
      const merged = { ...state.secrets, ...command.secrets };
      const secrets = Object.fromEntries(
        spec.secretNames.flatMap((name) => (merged[name] && !unset.has(name) ? [[name, merged[name]]] : [])),
      );
      try {
        checkContainerEnv(
          spec,
          Object.fromEntries(Object.entries(secrets).map(([name, value]) => [name, 'x'.repeat(plainLength(value))])),
        );
      } catch (error) {
        if (error instanceof AppError) return error;
        throw error;
      }
      const changed =
        JSON.stringify(spec) !== JSON.stringify(state.spec) ||
        !sameBindings(ports, state.ports) ||
        Object.keys(command.secrets).length > 0 ||
        Object.keys(secrets).length !== Object.keys(state.secrets).length;
      if (!changed) return [];
      return [{ type: 'PodUpdated', data: { spec, secrets, ports, generation: state.generation + 1 }, tenantId }];
    }
    case 'StopPod':
      return state.desired === 'stopped' ? [] : [{ type: 'PodStopped', data: {}, tenantId }];
    case 'StartPod':
      return state.desired === 'running' ? [] : [{ type: 'PodStarted', data: {}, tenantId }];
    case 'RestartPod':
      if (state.desired === 'stopped') return new AppError('conflict', `${ref} is stopped; start it instead`);
      return [{ type: 'PodRestartRequested', data: { restartId: command.restartId }, tenantId }];
    case 'RotateToken':
      return [
        {
          type: 'PodAccessTokenRotated',
          data: { accessToken: command.accessToken, generation: state.generation + 1 },
          tenantId,
        },
      ];
    case 'DeletePod':
      return [{ type: 'PodDeleted', data: { keepVolume: command.keepVolume }, tenantId }];
    default:
      return unreachable(command);
  }
}
