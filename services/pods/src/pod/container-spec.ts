import { assertSafe, type ContainerSpec, type Encrypted, POD_ACCESS_TOKEN_ENV } from '@agentpod/contracts';
import type { Pod } from './events.ts';

/** Decrypts a ciphertext stored for the pod at `context` (see secrets/cipher.ts for the contexts). */
export type Decrypt = (value: Encrypted, what: { secret: string } | { token: true }) => string;

/**
 * The container of the pod's current generation, secrets decrypted, for the node that runs it. Whatever the
 * stored spec says, the result passes the security policy (`assertSafe`) or this throws: a spec recorded before
 * a policy was tightened cannot slip through.
 */
export function buildContainerSpec(pod: Pod, decrypt: Decrypt): ContainerSpec {
  const secrets = Object.fromEntries(
    Object.entries(pod.secrets).map(([name, value]) => [name, decrypt(value, { secret: name })]),
  );
  return assertSafe({
    tenantId: pod.tenantId,
    podId: pod.podId,
    generation: pod.generation,
    image: pod.spec.image,
    ...(pod.spec.cmd ? { cmd: pod.spec.cmd } : {}),
    env: { ...pod.spec.env, ...secrets, [POD_ACCESS_TOKEN_ENV]: decrypt(pod.accessToken, { token: true }) },
    ports: pod.ports,
    ...(pod.volumeName && pod.spec.volume
      ? { volume: { name: pod.volumeName, mountPath: pod.spec.volume.mountPath } }
      : {}),
    limits: pod.spec.limits,
    ...(pod.spec.health ? { health: { ...pod.spec.health, port: healthPort(pod) } } : {}),
    labels: pod.spec.template ? { template: pod.spec.template } : {},
    keptMounts: pod.keptMounts,
    // The generation an adoption recorded is the adopted container: the agent takes it over, never makes another.
    ...(pod.adopted && pod.adopted.generation === pod.generation
      ? { adopt: { containerId: pod.adopted.containerId } }
      : {}),
  });
}

/**
 * The container port the health check probes, resolved here so the agent never guesses: the check's own, else
 * the pod's first TCP port in the order the spec lists them (the agent only sees them sorted by host port).
 */
function healthPort(pod: Pod): number | undefined {
  return pod.spec.health?.port ?? pod.spec.ports.find((port) => port.protocol === 'tcp')?.containerPort;
}
