import {
  AppError,
  type ContainerDescription,
  ImageRef,
  invalidInput,
  KeptMount,
  Limits,
  POD_ACCESS_TOKEN_ENV,
  PodSpec,
  type PortBinding,
  type RestartPolicy,
} from '@agentpod/contracts';
import { formatBytes } from '../format.ts';
import { checkContainerEnv } from './spec.ts';

/*
 * An adopted pod's desired state, from what its container runs (the agent's `describeContainer`). Pure. What a
 * pod can hold is recorded as it is; what it cannot (no memory limit, say) gets the nearest thing a pod can hold
 * and a note saying so, applied from the pod's next generation on (the adopted container runs on untouched).
 * What AgentPod never runs, or could not keep, refuses the adoption with the reason: better than a pod whose next
 * generation silently loses something.
 */

export type AdoptionPlan = {
  spec: PodSpec;
  /** Every env value of the container, to be stored encrypted (a hand-made container's env often holds passwords). */
  secretValues: Record<string, string>;
  /** Its host ports, exactly as it publishes them now. */
  ports: PortBinding[];
  keptMounts: KeptMount[];
  /** Where the recorded spec differs from what runs, one sentence each. */
  notes: string[];
};

const DEFAULTS = Limits.parse({});
const MiB = 1024 * 1024;

/** Docker's restart policy as a pod's: Docker's `no` is `never`, so nothing restarts it that did not before. */
function restartOf(policy: string): RestartPolicy {
  if (policy === 'always' || policy === 'unless-stopped') return 'always';
  if (policy === 'on-failure') return 'on-failure';
  return 'never';
}

/** A limit AgentPod can hold: `value` within the pod bounds, else the default or the nearest bound, with a note. */
function limitOf(
  name: string,
  value: number | null,
  bounds: { min: number; max: number; fallback: number },
  show: (n: number) => string,
  notes: string[],
): number {
  if (value === null) {
    notes.push(`${name}: unlimited, recorded as ${show(bounds.fallback)} (the default) from the next generation on`);
    return bounds.fallback;
  }
  const kept = Math.min(bounds.max, Math.max(bounds.min, value));
  if (kept !== value) notes.push(`${name}: ${show(value)} is outside what a pod may have; recorded as ${show(kept)}`);
  return kept;
}

function portsOf(described: ContainerDescription, ref: string): PortBinding[] {
  return described.container.ports.map((port) => {
    const what = `${ref} publishes ${port.containerPort}/${port.protocol}`;
    if (port.hostPort === 0)
      throw new AppError('invalid', `${what} on a random host port and does not run: start it, then adopt it`);
    if (port.hostPort < 1_024)
      throw new AppError('invalid', `${what} on host port ${port.hostPort}: a pod's host ports start at 1024`);
    const hostIp =
      port.hostIp === '127.0.0.1' ? '127.0.0.1' : ['0.0.0.0', '::', ''].includes(port.hostIp) ? '0.0.0.0' : null;
    if (hostIp === null)
      throw new AppError('invalid', `${what} on ${port.hostIp}: a pod publishes on 127.0.0.1 or on every address`);
    return { hostPort: port.hostPort, containerPort: port.containerPort, protocol: port.protocol, hostIp };
  });
}

function keptMountsOf(described: ContainerDescription, ref: string, notes: string[]): KeptMount[] {
  const kept: KeptMount[] = [];
  for (const mount of described.container.mounts) {
    if (mount.type !== 'volume' && mount.type !== 'bind') {
      notes.push(`${mount.type} at ${mount.destination}: not kept (nothing in it outlives the container)`);
      continue;
    }
    const parsed = KeptMount.safeParse(mount);
    if (!parsed.success)
      throw new AppError(
        'invalid',
        `${ref} mounts ${mount.source} at ${mount.destination}, which a pod cannot keep: ${parsed.error.issues[0]?.message}`,
      );
    kept.push(parsed.data);
  }
  return kept;
}

/** The pod an adopted container becomes; `invalid`/`forbidden` naming what stands in the way. */
export function planAdoption(described: ContainerDescription): AdoptionPlan {
  const ref = `container ${described.container.name || described.container.id.slice(0, 12)}`;
  if (described.escalations.length > 0)
    throw new AppError('forbidden', `refused: ${ref} ${described.escalations.join('; ')}`, {
      details: described.escalations,
    });
  if (described.entrypoint !== null)
    throw new AppError(
      'invalid',
      `${ref} runs with its own entrypoint (${JSON.stringify(described.entrypoint)}); a pod runs its image's: ` +
        'build an image with that entrypoint and adopt a container of it',
    );
  const image = ImageRef.safeParse(described.container.image);
  if (!image.success)
    throw new AppError(
      'invalid',
      `${ref} runs ${described.container.image}, which is not an image reference a pod can name`,
    );
  const notes: string[] = [];
  const { [POD_ACCESS_TOKEN_ENV]: reserved, ...secretValues } = described.env;
  if (reserved !== undefined) notes.push(`${POD_ACCESS_TOKEN_ENV}: replaced by the pod's own access token`);
  const ports = portsOf(described, ref);
  const limits = {
    memoryBytes: limitOf(
      'memory',
      described.limits.memoryBytes,
      { min: 6 * MiB, max: 2 ** 40, fallback: DEFAULTS.memoryBytes },
      formatBytes,
      notes,
    ),
    cpus: limitOf('cpus', described.limits.cpus, { min: 0.01, max: 64, fallback: DEFAULTS.cpus }, String, notes),
    pids: limitOf('pids', described.limits.pids, { min: 16, max: 32_768, fallback: DEFAULTS.pids }, String, notes),
  };
  const restart = restartOf(described.restartPolicy);
  if (restart === 'never')
    notes.push(`restart: Docker did not restart it, so neither will AgentPod (pod update --restart always to heal it)`);
  const parsed = PodSpec.safeParse({
    image: image.data,
    ...(described.cmd && described.cmd.length > 0 ? { cmd: described.cmd } : {}),
    env: {},
    secretNames: Object.keys(secretValues).sort(),
    ports: ports.map(({ containerPort, protocol, hostIp }) => ({
      containerPort,
      protocol,
      public: hostIp === '0.0.0.0',
    })),
    limits,
    restart,
  });
  if (!parsed.success) throw invalidInput(parsed.error, `the pod ${ref} would be`);
  checkContainerEnv(parsed.data, secretValues);
  return { spec: parsed.data, secretValues, ports, keptMounts: keptMountsOf(described, ref, notes), notes };
}
