import type { ContainerSpecInput } from '@agentpod/contracts';
import type { ContainerRuntime, LogOptions, ObservedContainer } from '../runtime/index.ts';
import type { HealthProber } from './prober.ts';

/**
 * The runtime as the agent reports it: every container it inspects or lists carries AgentPod's probe verdict in
 * `health` (the engine leaves it null), so the hello, the inventories, the ContainerChanged observations and the
 * `inventory` op all say what the prober says. Everything else is the runtime's, unchanged.
 */
export function withProbedHealth(runtime: ContainerRuntime, prober: Pick<HealthProber, 'healthOf'>): ContainerRuntime {
  const withHealth = (container: ObservedContainer): ObservedContainer => ({
    ...container,
    health: prober.healthOf(container),
  });
  return {
    owns: (container) => runtime.owns(container),
    version: () => runtime.version(),
    info: () => runtime.info(),
    hasImage: (image: string) => runtime.hasImage(image),
    ensureImage: (image: string, options?: { signal?: AbortSignal }) => runtime.ensureImage(image, options),
    create: (spec: ContainerSpecInput) => runtime.create(spec),
    start: (ref: string) => runtime.start(ref),
    stop: (ref: string, options?: { timeoutSeconds?: number }) => runtime.stop(ref, options),
    restart: (ref: string, options?: { timeoutSeconds?: number }) => runtime.restart(ref, options),
    remove: (ref: string, options?: { volume?: boolean }) => runtime.remove(ref, options),
    inspect: async (ref: string) => {
      const container = await runtime.inspect(ref);
      return container ? withHealth(container) : null;
    },
    list: async () => (await runtime.list()).map(withHealth),
    logs: (ref: string, options?: LogOptions) => runtime.logs(ref, options),
    events: (options?: { since?: Date; signal?: AbortSignal }) => runtime.events(options),
    createVolume: (name: string, owner: { tenantId: string; podId: string }) => runtime.createVolume(name, owner),
    removeVolume: (name: string) => runtime.removeVolume(name),
    discover: () => runtime.discover(),
    describe: (ref: string) => runtime.describe(ref),
    adopt: async (ref, owner) => withHealth(await runtime.adopt(ref, owner)),
  };
}
