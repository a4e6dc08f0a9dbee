import { type ContainerSpec, containerName, PodLabels, podRef } from '@agentpod/contracts';
import type Docker from 'dockerode';

/*
 * The one place a ContainerSpec becomes a Docker create request. Everything that makes a container safe to run
 * beside another tenant's is here and not in the spec, so no request can turn it off.
 */

/**
 * Capabilities kept after `CapDrop: ALL`. Together they let ordinary images start as root, fix ownership of
 * their data and drop to their own user, which is what most official images' entrypoints do:
 * - CHOWN, FOWNER, DAC_OVERRIDE: entrypoints that `chown`/`chmod` the data directory or write files they do not
 *   own while still root (postgres, redis, nginx caches). Confined to the container's own filesystem and its
 *   named volume, because host binds are refused.
 * - SETUID, SETGID: `gosu`/`su-exec`/nginx workers switching to an unprivileged user (no-new-privileges still
 *   stops setuid binaries from gaining anything).
 * - NET_BIND_SERVICE: servers that listen on ports below 1024 inside the container (80, 443).
 * - KILL: an init or supervisor running as root that signals its children after they changed user.
 * Dropped from Docker's default set: NET_RAW (raw sockets: ARP/IP spoofing and sniffing on the bridge shared
 * with other tenants' pods — the main cross-tenant risk), MKNOD (device nodes), SETFCAP and SETPCAP (file and
 * process capabilities), SYS_CHROOT, FSETID and AUDIT_WRITE, which workloads seldom need.
 */
export const CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETUID', 'SETGID', 'NET_BIND_SERVICE', 'KILL'];

/** json-file with rotation: at most 3 × 10 MB of logs per container, so a chatty pod cannot fill the disk. */
export const LOG_CONFIG = { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } };

export const NO_NEW_PRIVILEGES = 'no-new-privileges:true';

/**
 * The spec's own labels plus the `agentpod.*` ones, which only the runtime sets. The health check rides along as
 * JSON so the agent knows what to probe from the container itself, also after the agent restarted.
 */
export function podLabels(
  spec: Pick<ContainerSpec, 'tenantId' | 'podId' | 'generation' | 'labels'> & Partial<Pick<ContainerSpec, 'health'>>,
): Record<string, string> {
  return {
    ...spec.labels,
    [PodLabels.pod]: podRef(spec.tenantId, spec.podId),
    [PodLabels.tenant]: spec.tenantId,
    [PodLabels.generation]: String(spec.generation),
    ...(spec.health ? { [PodLabels.health]: JSON.stringify(spec.health) } : {}),
  };
}

/** Docker's create request for a validated spec. Pure: the argv and env go to the API as arrays, never a shell. */
/** `runtimeLabels`: labels the runtime adds on its own (the node's id). */
export function toCreateOptions(
  spec: ContainerSpec,
  runtimeLabels: Record<string, string> = {},
): Docker.ContainerCreateOptions {
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const port of spec.ports) {
    const key = `${port.containerPort}/${port.protocol}`;
    bindings[key] = [...(bindings[key] ?? []), { HostIp: port.hostIp, HostPort: String(port.hostPort) }];
  }
  return {
    name: containerName(spec.tenantId, spec.podId, spec.generation),
    Image: spec.image,
    ...(spec.cmd ? { Cmd: spec.cmd } : {}),
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    Labels: { ...podLabels(spec), ...runtimeLabels },
    Hostname: spec.podId,
    ExposedPorts: Object.fromEntries(Object.keys(bindings).map((key) => [key, {}])),
    Tty: false,
    OpenStdin: false,
    HostConfig: {
      PortBindings: bindings,
      Mounts: [
        ...(spec.volume ? [{ Type: 'volume' as const, Source: spec.volume.name, Target: spec.volume.mountPath }] : []),
        // What an adopted pod keeps (the runtime checked them against its adoption registry).
        ...spec.keptMounts.map((mount) => ({
          Type: mount.type,
          Source: mount.source,
          Target: mount.destination,
          ReadOnly: mount.readOnly,
        })),
      ],
      Memory: spec.limits.memoryBytes,
      // Equal to Memory: no swap on top of the limit, so the limit is what the pod gets.
      MemorySwap: spec.limits.memoryBytes,
      NanoCpus: Math.round(spec.limits.cpus * 1e9),
      PidsLimit: spec.limits.pids,
      SecurityOpt: [NO_NEW_PRIVILEGES],
      CapDrop: ['ALL'],
      CapAdd: CAPABILITIES,
      Privileged: false,
      // Workloads write where their images expect to; the volume is for what must outlive the container.
      ReadonlyRootfs: false,
      NetworkMode: 'bridge',
      IpcMode: 'private',
      // The reconciler heals, with backoff and alerts; Docker restarting on its own would race it.
      RestartPolicy: { Name: 'no' },
      LogConfig: LOG_CONFIG,
    },
  };
}
