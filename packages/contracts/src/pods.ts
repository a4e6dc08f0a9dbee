import { z } from 'zod';
import { AppError, invalidInput } from './errors.ts';
import { TenantId } from './tenants.ts';

/*
 * What a pod is on the wire: the spec an operator asks for (`PodSpec`) and the one container the control plane
 * asks an agent to create for it (`ContainerSpec`). Neither has a field for privileged mode, host namespaces,
 * devices, capabilities or host binds: both are strict objects, so such a field is refused rather than ignored,
 * and `findEscalations` names it in a sentence before any schema error does.
 */

const SLUG = /^[a-z][a-z0-9-]{1,30}[a-z0-9]$/;
const SLUG_MESSAGE = 'must be 3-32 lower-case letters, digits or inner hyphens, starting with a letter';

/** A pod's id: a slug like a tenant id, unique within its tenant. `<tenantId>/<podId>` names it everywhere. */
export const PodId = z.string().regex(SLUG, SLUG_MESSAGE);
export type PodId = z.infer<typeof PodId>;

/** `<tenantId>/<podId>`, as the CLI and the `agentpod.pod` label write it. */
export const PodRef = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,30}[a-z0-9]\/[a-z][a-z0-9-]{1,30}[a-z0-9]$/, 'must be <tenant>/<pod>');
export const podRef = (tenantId: string, podId: string): string => `${tenantId}/${podId}`;
export function parsePodRef(text: string): { tenantId: TenantId; podId: PodId } {
  const ref = PodRef.parse(text);
  const [tenantId = '', podId = ''] = ref.split('/');
  return { tenantId, podId };
}

/*
 * Docker's reference grammar (distribution/reference), `[domain[:port]/]path[:tag][@digest]`, except that a
 * separator inside a path component is never empty (Docker's `[-]*` lets `a+(sep a+)*` match one string many
 * ways: exponential backtracking in JavaScript, harmless only in Go's RE2). Length is capped before it runs.
 */
const DOMAIN = String.raw`(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{1,5})?)`;
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const IMAGE_REF = new RegExp(
  String.raw`^(?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$`,
);
/** An image reference such as `nginx:1.27`, `ghcr.io/acme/app:v2@sha256:…`; never whitespace or shell syntax. */
export const ImageRef = z
  .string()
  .min(1)
  .max(512)
  .refine(
    (value) => value.length <= 512 && IMAGE_REF.test(value),
    'must be an image reference: [registry/]name[:tag][@digest]',
  );
export type ImageRef = z.infer<typeof ImageRef>;

const noNul = (value: string) => !value.includes('\0');
const utf8Bytes = (value: string) => new TextEncoder().encode(value).length;

/** The container's argv (no shell involved): at most 256 arguments of at most 4 kB each. */
export const Command = z.array(z.string().max(4_096).refine(noNul, 'must not contain NUL')).min(1).max(256);

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const ENV_KEY_MESSAGE = 'must be a letter or "_" then letters, digits or "_" (max 128)';
export const EnvKey = z.string().regex(ENV_KEY, ENV_KEY_MESSAGE);
/** A record whose invalid keys are reported by name (zod's own record keys only say "Invalid key in record"). */
const keyedRecord = <V extends z.ZodType<string>>(key: (key: string) => string | undefined, value: V) =>
  z.record(z.string(), value).superRefine((record, ctx) => {
    for (const name of Object.keys(record)) {
      const problem = key(name);
      if (problem) ctx.addIssue({ code: 'custom', path: [name], message: `key ${JSON.stringify(name)} ${problem}` });
    }
  });
export const EnvValue = z
  .string()
  .refine(noNul, 'must not contain NUL')
  .refine((value) => utf8Bytes(value) <= 32_768, 'must be at most 32 kB');
const envKeyProblem = (key: string) => (ENV_KEY.test(key) ? undefined : ENV_KEY_MESSAGE);
/** Environment variables: at most 256, at most 1 MiB in all. */
export const Env = keyedRecord(envKeyProblem, EnvValue)
  .refine((env) => Object.keys(env).length <= 256, 'at most 256 variables')
  .refine((env) => Object.entries(env).reduce((n, [k, v]) => n + k.length + utf8Bytes(v), 0) <= 1 << 20, 'too large');
export type Env = z.infer<typeof Env>;
/** Secret values by name. They travel apart from the spec so that the pods service can encrypt them at rest. */
export const SecretValues = Env;
export type SecretValues = z.infer<typeof SecretValues>;

export const Protocol = z.enum(['tcp', 'udp']);
export const PortSpec = z
  .object({
    containerPort: z.number().int().min(1).max(65_535),
    protocol: Protocol.default('tcp'),
    /** Published on every interface of the node; otherwise only on 127.0.0.1 (reached through the node's proxy). */
    public: z.boolean().default(false),
  })
  .strict();
export type PortSpec = z.infer<typeof PortSpec>;

/** An absolute, normalised path inside the container: no `.`/`..` segments, no `//`, not under /proc, /sys, /dev. */
export const MountPath = z
  .string()
  .max(255)
  .regex(/^(\/[A-Za-z0-9._@+-]+)+$/, 'must be an absolute normalised path such as /data')
  .refine((path) => !path.split('/').some((part) => part === '.' || part === '..'), 'must not contain . or ..')
  .refine((path) => !/^\/(proc|sys|dev)(\/|$)/.test(path), 'must not be under /proc, /sys or /dev');

const MiB = 1 << 20;
export const MemoryBytes = z
  .number()
  .int()
  .min(6 * MiB, 'must be at least 6m (Docker’s minimum)')
  .max(2 ** 40, 'must be at most 1t');
/** `256m`, `1g`, `1.5G`, `512Mi`, `1048576` (bytes) → bytes. Units are binary, as Docker reads them. */
export function parseMemory(text: string): number {
  const match = /^([0-9]{1,13}(?:\.[0-9]{1,6})?)\s*(?:([kmgt])(?:ib?|b)?|b)?$/i.exec(text.trim());
  if (!match) throw new AppError('invalid', `"${text}" is not a memory size (e.g. 256m, 1g)`);
  const power = match[2] ? 'bkmgt'.indexOf(match[2].toLowerCase()) : 0;
  return Math.round(Number(match[1]) * 1024 ** power);
}
/** A memory limit as a number of bytes or a size string; always bytes once parsed. */
export const MemoryInput = z
  .union([z.number(), z.string()])
  .transform((value, ctx) => {
    if (typeof value === 'number') return value;
    try {
      return parseMemory(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  })
  .pipe(MemoryBytes);

/** CPUs as a decimal: 0.5 is half a core. */
const Cpus = z.number().min(0.01).max(64);
/** Processes and threads; a fork bomb stops here instead of taking the node down. */
const Pids = z.number().int().min(16).max(32_768);
export const Limits = z
  .object({ memoryBytes: MemoryBytes.default(256 * MiB), cpus: Cpus.default(0.5), pids: Pids.default(256) })
  .strict();
export type Limits = z.infer<typeof Limits>;
/** The limits an update changes; the others keep their current values. */
export const LimitsPatch = z
  .object({ memoryBytes: MemoryBytes.optional(), cpus: Cpus.optional(), pids: Pids.optional() })
  .strict();
export type LimitsPatch = z.infer<typeof LimitsPatch>;

const HttpPath = z
  .string()
  .max(1_024)
  .regex(/^\/[\x21-\x7e]*$/, 'must be a path starting with / without spaces');
const probeTiming = {
  intervalSeconds: z.number().int().min(1).max(3_600).default(10),
  timeoutSeconds: z.number().int().min(1).max(60).default(3),
  /** Consecutive failed probes before the pod counts as unhealthy. */
  failureThreshold: z.number().int().min(1).max(20).default(3),
  /** Failures in this window after a start do not count: the workload is still starting. */
  startGraceSeconds: z.number().int().min(0).max(3_600).default(30),
};
/** Which container port to probe; the pod's first TCP port when absent. */
const probePort = z.number().int().min(1).max(65_535).optional();
/**
 * A pod's health check, run by the agent through the port's published host port on 127.0.0.1: `http` GETs
 * `path` (healthy below 400); `tcp` connects; `ws` upgrades to `path`, sends the text frame `{"type":"ping"}` and
 * is healthy when any message comes back within the timeout.
 */
export const HealthCheck = z.discriminatedUnion('type', [
  z.object({ type: z.literal('http'), path: HttpPath.default('/'), port: probePort, ...probeTiming }).strict(),
  z.object({ type: z.literal('tcp'), port: probePort, ...probeTiming }).strict(),
  z.object({ type: z.literal('ws'), path: HttpPath.default('/'), port: probePort, ...probeTiming }).strict(),
]);
export type HealthCheck = z.infer<typeof HealthCheck>;
/** The CLI's `--health http:/path | tcp[:port] | ws:/path` as a health-check input (timings defaulted). */
export function parseHealthFlag(text: string): HealthCheck {
  const [type = '', rest] = text.split(/:(.*)/s);
  const input =
    type === 'tcp' ? { type, ...(rest ? { port: Number(rest) } : {}) } : { type, ...(rest ? { path: rest } : {}) };
  const parsed = HealthCheck.safeParse(input);
  if (!parsed.success) throw invalidInput(parsed.error, `health check "${text}" (use http:/path, tcp or ws:/path)`);
  return parsed.data;
}

/** Who restarts a stopped container: the reconciler always heals `always`; `on-failure` only non-zero exits. */
export const RestartPolicy = z.enum(['always', 'on-failure', 'never']);
export type RestartPolicy = z.infer<typeof RestartPolicy>;

/** What an operator asks for. Secret values are not here: only their names, the values travel separately. */
export const PodSpec = z
  .object({
    image: ImageRef,
    cmd: Command.optional(),
    env: Env.default({}),
    secretNames: z.array(EnvKey).max(256).default([]),
    ports: z.array(PortSpec).max(16).default([]),
    volume: z.object({ mountPath: MountPath }).strict().optional(),
    limits: Limits.default({ memoryBytes: 256 * MiB, cpus: 0.5, pids: 256 }),
    health: HealthCheck.optional(),
    restart: RestartPolicy.default('always'),
    template: z.string().regex(SLUG, SLUG_MESSAGE).optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const seen = new Set<string>();
    for (const [i, port] of spec.ports.entries()) {
      const key = `${port.containerPort}/${port.protocol}`;
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['ports', i], message: `${key} is listed twice` });
      seen.add(key);
    }
    for (const name of spec.secretNames)
      if (Object.hasOwn(spec.env, name))
        ctx.addIssue({ code: 'custom', path: ['secretNames'], message: `${name} is both an env var and a secret` });
    const tcpPorts = spec.ports.filter((port) => port.protocol === 'tcp').map((port) => port.containerPort);
    if (spec.health && spec.health.port === undefined && tcpPorts.length === 0)
      ctx.addIssue({ code: 'custom', path: ['health'], message: 'a health check needs a TCP port to probe' });
    else if (spec.health?.port !== undefined && !tcpPorts.includes(spec.health.port))
      ctx.addIssue({ code: 'custom', path: ['health', 'port'], message: 'must be one of the pod’s TCP ports' });
  });
export type PodSpec = z.infer<typeof PodSpec>;

/** The labels every AgentPod container and volume carries; the agent finds, adopts and collects by them. */
export const PodLabels = {
  pod: 'agentpod.pod',
  tenant: 'agentpod.tenant',
  generation: 'agentpod.generation',
  /**
   * The container's health check (`HealthCheck` as JSON, its port resolved), so the agent knows what to probe
   * from the container alone, also after its own restart. Absent: AgentPod does not probe the container.
   */
  health: 'agentpod.health',
  /**
   * The node whose agent created the container. An agent manages only its own node's containers, so two control
   * planes (or a test stack beside `npm start`) sharing one Docker Engine never touch each other's.
   */
  node: 'agentpod.node',
} as const;

/*
 * `_` cannot occur in a slug, so it separates tenant and pod without ambiguity: with `-`, tenant `a-b` + pod `c`
 * and tenant `a` + pod `b-c` would share a name, and one tenant's create would "find" the other's container.
 */
export const containerName = (tenantId: string, podId: string, generation: number): string =>
  `agentpod-${tenantId}_${podId}-g${generation}`;
export const volumeName = (tenantId: string, podId: string): string => `agentpod-${tenantId}_${podId}`;

/** A host port binding: 127.0.0.1 for a private port, 0.0.0.0 for a public one. */
export const PortBinding = z
  .object({
    /** Allocated by the control plane from its range; never below 1024, where the node's own services live. */
    hostPort: z.number().int().min(1_024).max(65_535),
    containerPort: z.number().int().min(1).max(65_535),
    protocol: Protocol.default('tcp'),
    hostIp: z.enum(['127.0.0.1', '0.0.0.0']).default('127.0.0.1'),
  })
  .strict();
export type PortBinding = z.infer<typeof PortBinding>;
export const hostIpFor = (port: { public: boolean }): PortBinding['hostIp'] => (port.public ? '0.0.0.0' : '127.0.0.1');

const labelKeyProblem = (key: string) =>
  !/^[a-z0-9][a-z0-9._-]{0,127}$/.test(key)
    ? 'must be lower-case letters, digits, ".", "_" or "-"'
    : key.startsWith('agentpod.')
      ? 'is reserved: agentpod.* labels are set by the runtime'
      : undefined;

/**
 * A mount of a container AgentPod adopted (`adoptPod`): a named volume, or a host path (bind). Only adoption
 * records them, from what the container was started with; every later generation of the pod mounts them again, so
 * an upgrade never leaves the data behind. A create or update request cannot ask for one (`PodSpec` has no such
 * field and host binds stay refused there), and the agent mounts only those it saw on a container it adopted for
 * the same pod.
 */
export const KeptMount = z
  .object({
    type: z.enum(['volume', 'bind']),
    /** The volume's name, or the absolute host path of a bind. */
    source: z.string().min(1).max(4_096).refine(noNul, 'must not contain NUL'),
    /** Where it is mounted inside the container. */
    destination: MountPath,
    readOnly: z.boolean().default(false),
  })
  .strict();
export type KeptMount = z.infer<typeof KeptMount>;

/** What the control plane sends an agent to create one container of one generation of a pod. */
export const ContainerSpec = z
  .object({
    tenantId: TenantId,
    podId: PodId,
    /** Bumped by every update; a new generation is a new container. */
    generation: z
      .number()
      .int()
      .min(1)
      .max(2 ** 31 - 1),
    image: ImageRef,
    cmd: Command.optional(),
    /** Env with the secrets already decrypted, for this node only. */
    env: Env.default({}),
    ports: z.array(PortBinding).max(16).default([]),
    /** A named volume (never a host path); its name must be one of this tenant's. */
    volume: z
      .object({
        name: z.string().regex(/^agentpod-[a-z0-9-]+_[a-z0-9-]+$/, 'must be a pod volume name'),
        mountPath: MountPath,
      })
      .strict()
      .optional(),
    limits: Limits,
    /**
     * What the agent probes (via the published host port of `health.port`, on 127.0.0.1). The pods service
     * always fills `port` in; absent, the agent takes the container's first published TCP port.
     */
    health: HealthCheck.optional(),
    /** Extra labels; `agentpod.*` are the runtime's own and are derived from tenantId, podId and generation. */
    labels: keyedRecord(labelKeyProblem, z.string().max(1_024)).default({}),
    /** The mounts an adopted pod keeps (see `KeptMount`); empty for every pod AgentPod created itself. */
    keptMounts: z.array(KeptMount).max(32).default([]),
    /**
     * Set only for the generation an adoption recorded: the agent takes this running container over (as
     * `adoptContainer` does) instead of creating one, so a create that races the adoption never duplicates it.
     */
    adopt: z
      .object({ containerId: z.string().min(1).max(128) })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    if (spec.volume && !spec.volume.name.startsWith(`agentpod-${spec.tenantId}_`))
      ctx.addIssue({ code: 'custom', path: ['volume', 'name'], message: 'must be a volume of the same tenant' });
    const destinations = new Set(spec.volume ? [spec.volume.mountPath] : []);
    for (const [i, mount] of spec.keptMounts.entries()) {
      if (destinations.has(mount.destination))
        ctx.addIssue({ code: 'custom', path: ['keptMounts', i], message: `${mount.destination} is mounted twice` });
      destinations.add(mount.destination);
    }
    const tcpPorts = spec.ports.filter((port) => port.protocol === 'tcp').map((port) => port.containerPort);
    // Probes go through a published host port, never the container's address: no such port, nothing to probe.
    if (spec.health && spec.health.port === undefined && tcpPorts.length === 0)
      ctx.addIssue({ code: 'custom', path: ['health'], message: 'a health check needs a published TCP port' });
    else if (spec.health?.port !== undefined && !tcpPorts.includes(spec.health.port))
      ctx.addIssue({ code: 'custom', path: ['health', 'port'], message: 'must be one of the published TCP ports' });
    const seen = new Set<string>();
    for (const [i, port] of spec.ports.entries()) {
      for (const key of [
        `host ${port.hostPort}/${port.protocol}`,
        `container ${port.containerPort}/${port.protocol}`,
      ]) {
        if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['ports', i], message: `${key} is bound twice` });
        seen.add(key);
      }
    }
  });
export type ContainerSpec = z.infer<typeof ContainerSpec>;
export type ContainerSpecInput = z.input<typeof ContainerSpec>;

/*
 * The security policy, applied on every path that turns a request into a container (create, update, compose
 * import). Anything that would hand a workload the node — privileged mode, the host's namespaces or another
 * container's, devices, extra capabilities, host paths, the Docker socket — is named and refused. Keys compare
 * without case, `_` or `-`, so the Docker API (`HostConfig.NetworkMode`), compose (`network_mode`) and our own
 * camelCase all match; values under env and labels are the workload's data, not settings, and are not keys.
 */
/** `network_mode`, `NetworkMode`, `pid`, `ipc`, `userns_mode`, `uts`, `cgroupns`… normalised. */
const NAMESPACE = /^(net|network|pid|ipc|userns|uts|cgroupns)(?:mode)?$/;
const REFUSED: Record<string, string> = {
  privileged: 'privileged mode is not allowed',
  devices: 'devices are not allowed',
  devicerequests: 'devices are not allowed',
  devicecgrouprules: 'device rules are not allowed',
  gpus: 'devices are not allowed',
  capadd: 'added capabilities are not allowed',
  securityopt: 'security options are set by AgentPod, not by a spec',
  volumesfrom: 'another container’s volumes are not allowed',
  driveropts: 'volume driver options are not allowed (they can bind host paths)',
  sysctls: 'kernel parameters are not allowed',
  cgroupparent: 'a custom cgroup parent is not allowed',
  oomkilldisable: 'disabling the OOM killer is not allowed',
};
const MOUNTS = new Set(['binds', 'volumes', 'mounts']);
const OPAQUE = new Set(['env', 'environment', 'labels', 'secrets', 'secretvalues']);
const normKey = (key: string) => key.toLowerCase().replace(/[_-]/g, '');
function isSet(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return typeof value === 'object' && value !== null ? Object.keys(value).length > 0 : !!value;
}
const isHostPath = (source: unknown) => typeof source === 'string' && /^[/.~]/.test(source);

function hostBind(entry: unknown): boolean {
  if (typeof entry === 'string') return entry.includes(':') && isHostPath(entry.slice(0, entry.indexOf(':')));
  if (typeof entry !== 'object' || entry === null) return false;
  const fields = Object.fromEntries(Object.entries(entry).map(([key, value]) => [normKey(key), value]));
  return fields.type === 'bind' || isHostPath(fields.source) || isHostPath(fields.src);
}

/** Every escalation `input` asks for, one sentence each; empty when there is none. Pure. */
export function findEscalations(input: unknown): string[] {
  const found: string[] = [];
  const walk = (value: unknown, path: string[], opaque: boolean): void => {
    const at = path.join('.') || '(root)';
    if (path.length > 12) found.push(`nesting deeper than 12 levels is not allowed (at ${at})`);
    else if (typeof value === 'string') {
      if (/docker\.sock/i.test(value)) found.push(`the Docker socket must not be referenced (at ${at})`);
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, child] of Object.entries(value)) {
        const here = [...path, key];
        const name = normKey(key);
        if (/docker\.sock/i.test(key)) found.push(`the Docker socket must not be referenced (at ${here.join('.')})`);
        if (!opaque && !Array.isArray(value)) {
          const mode = typeof child === 'string' ? child.toLowerCase() : '';
          const namespace = NAMESPACE.exec(name)?.[1]?.replace(/^net$/, 'network');
          if (namespace && (mode === 'host' || mode.startsWith('container:')))
            found.push(
              `sharing the ${mode === 'host' ? 'host’s' : 'another container’s'} ${namespace} namespace is not allowed (at ${here.join('.')})`,
            );
          if (REFUSED[name] && isSet(child)) found.push(`${REFUSED[name]} (at ${here.join('.')})`);
          if (MOUNTS.has(name) && Array.isArray(child))
            for (const [i, entry] of child.entries())
              if (hostBind(entry))
                found.push(`host binds are not allowed, only named volumes (at ${here.join('.')}.${i})`);
        }
        walk(child, here, opaque || OPAQUE.has(name));
      }
    }
  };
  walk(input, [], false);
  return [...new Set(found)];
}

/**
 * Parses a container spec and refuses it unless it is safe: `forbidden` naming every escalation asked for, or
 * `invalid` for anything else the strict schema does not know (an unknown field is refused, never ignored).
 */
export function assertSafe(input: unknown): ContainerSpec {
  const escalations = findEscalations(input);
  if (escalations.length > 0)
    throw new AppError('forbidden', `refused: ${escalations.join('; ')}`, { details: escalations });
  const parsed = ContainerSpec.safeParse(input);
  if (!parsed.success) throw invalidInput(parsed.error, 'container spec');
  return parsed.data;
}
