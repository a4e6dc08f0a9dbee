import {
  AppError,
  type ContainerDescription,
  type ContainerMount,
  KeptMount,
  type ObservedPort,
  type UnmanagedContainer,
} from '@agentpod/contracts';
import type Docker from 'dockerode';

/*
 * Containers AgentPod did not make, as Docker's inspect shows them: what `migrate discover` lists, what the pods
 * service records when it adopts one, and what would make one unsafe to take over. Pure.
 */

const STATES = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'] as const;
const time = (value: string | undefined) => (!value || value.startsWith('0001-') ? null : value);

type ImageConfig = { Cmd?: string[] | null; Entrypoint?: string | string[] | null; Env?: string[] | null };

/**
 * The ports as they are bound: the configured bindings, with a port published on a random host port (`-p 8080`)
 * resolved to the one it got while the container runs (0 while it does not).
 */
export function boundPorts(info: Docker.ContainerInspectInfo): ObservedPort[] {
  const ports: ObservedPort[] = [];
  const live = (info.NetworkSettings?.Ports ?? {}) as Record<string, { HostIp: string; HostPort: string }[] | null>;
  for (const [key, hosts] of Object.entries(
    (info.HostConfig.PortBindings ?? {}) as Record<string, { HostIp?: string; HostPort?: string }[] | null>,
  )) {
    const [port = '', protocol] = key.split('/');
    for (const host of hosts ?? []) {
      const hostIp = host.HostIp || '0.0.0.0';
      let hostPort = Number(host.HostPort || 0);
      if (!hostPort) {
        const bound = (live[key] ?? []).find((b) => (b.HostIp || '0.0.0.0') === hostIp) ?? live[key]?.[0];
        hostPort = Number(bound?.HostPort || 0);
      }
      ports.push({ containerPort: Number(port), protocol: protocol === 'udp' ? 'udp' : 'tcp', hostIp, hostPort });
    }
  }
  return ports.sort((a, b) => a.hostPort - b.hostPort || a.containerPort - b.containerPort);
}

export function mountsOf(info: Docker.ContainerInspectInfo): ContainerMount[] {
  return (info.Mounts ?? []).map((mount) => ({
    type: mount.Type,
    source: mount.Type === 'volume' ? (mount.Name ?? mount.Source) : mount.Source,
    destination: mount.Destination,
    readOnly: !mount.RW,
  }));
}

const envPairs = (env: readonly string[] | null | undefined): [string, string][] =>
  (env ?? []).map((entry) => {
    const at = entry.indexOf('=');
    return at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
  });

export function toUnmanaged(info: Docker.ContainerInspectInfo): UnmanagedContainer {
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    image: info.Config.Image,
    state: STATES.find((s) => s === info.State.Status) ?? 'dead',
    createdAt: info.Created,
    startedAt: time(info.State.StartedAt),
    ports: boundPorts(info),
    mounts: mountsOf(info),
    envKeys: envPairs(info.Config.Env).map(([key]) => key),
  };
}

const NAMESPACES = [
  ['NetworkMode', 'network'],
  ['PidMode', 'pid'],
  ['IpcMode', 'ipc'],
  ['UTSMode', 'uts'],
  ['UsernsMode', 'user'],
] as const;

/** What AgentPod never runs, one phrase each; empty when the container asks for none of it. */
export function escalationsOf(info: Docker.ContainerInspectInfo): string[] {
  const host = info.HostConfig as Docker.HostConfig & Record<string, unknown>;
  const found: string[] = [];
  if (host.Privileged) found.push('runs privileged');
  for (const [field, namespace] of NAMESPACES) {
    const mode = typeof host[field] === 'string' ? (host[field] as string) : '';
    if (mode === 'host' || mode.startsWith('container:'))
      found.push(`shares ${mode === 'host' ? 'the host’s' : 'another container’s'} ${namespace} namespace`);
  }
  if ((host.Devices ?? []).length > 0 || ((host.DeviceRequests as unknown[] | undefined) ?? []).length > 0)
    found.push('has devices');
  if ((host.CapAdd ?? []).length > 0) found.push(`has added capabilities (${(host.CapAdd ?? []).join(', ')})`);
  if ((host.SecurityOpt ?? []).some((option: string) => /unconfined/i.test(option)))
    found.push('runs without a seccomp or AppArmor profile');
  if ((info.Mounts ?? []).some((mount) => /docker\.sock/i.test(`${mount.Source} ${mount.Destination}`)))
    found.push('mounts the Docker socket');
  if ((info.Mounts ?? []).some((mount) => mount.Type === 'volume' && mount.Driver && mount.Driver !== 'local'))
    found.push('uses a volume of another driver than local');
  return found;
}

/**
 * The mounts an adopted pod keeps: its named (or anonymous, by their name) volumes and its binds. A tmpfs holds
 * nothing worth keeping and is left out. A mount AgentPod cannot express (a path under /proc, odd characters) is
 * refused rather than silently dropped: its data would be lost on the next generation.
 */
export function keptMountsOf(info: Docker.ContainerInspectInfo): KeptMount[] {
  return mountsOf(info)
    .filter((mount) => mount.type === 'volume' || mount.type === 'bind')
    .map((mount) => {
      const parsed = KeptMount.safeParse(mount);
      if (!parsed.success)
        throw new AppError(
          'invalid',
          `the ${mount.type} mount ${mount.source} → ${mount.destination} cannot be kept: ${parsed.error.issues[0]?.message}`,
        );
      return parsed.data;
    });
}

const sameList = (a: readonly string[] | null | undefined, b: readonly string[] | null | undefined) =>
  JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
const asList = (value: string | string[] | null | undefined): string[] =>
  value === undefined || value === null ? [] : typeof value === 'string' ? [value] : value;

/** The container as the pods service records it: what differs from its image, its limits, what refuses it. */
export function describeFrom(info: Docker.ContainerInspectInfo, image: ImageConfig | null): ContainerDescription {
  const imageEnv = new Map(envPairs(image?.Env));
  const host = info.HostConfig;
  const cpus =
    (host.NanoCpus ?? 0) > 0
      ? (host.NanoCpus ?? 0) / 1e9
      : (host.CpuQuota ?? 0) > 0 && (host.CpuPeriod ?? 0) > 0
        ? (host.CpuQuota ?? 0) / (host.CpuPeriod ?? 1)
        : null;
  return {
    container: toUnmanaged(info),
    cmd: image && sameList(info.Config.Cmd, image.Cmd) ? null : (info.Config.Cmd ?? null),
    entrypoint:
      image && sameList(asList(info.Config.Entrypoint), asList(image.Entrypoint))
        ? null
        : asList(info.Config.Entrypoint).length > 0
          ? asList(info.Config.Entrypoint)
          : null,
    env: Object.fromEntries(envPairs(info.Config.Env).filter(([key, value]) => imageEnv.get(key) !== value)),
    restartPolicy: host.RestartPolicy?.Name || 'no',
    limits: {
      memoryBytes: (host.Memory ?? 0) > 0 ? (host.Memory ?? null) : null,
      cpus,
      pids: (host.PidsLimit ?? 0) > 0 ? (host.PidsLimit ?? null) : null,
    },
    escalations: escalationsOf(info),
  };
}
