import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

/** `1`/`true`/`yes` or `0`/`false`/`no`/empty; anything else is a mistake worth naming at start-up. */
const flag = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', ''])
  .default('0')
  .transform((value) => value === '1' || value === 'true' || value === 'yes');

/** Root keeps the agent's state with the system's; anyone else in their home. */
export const defaultAgentStateDir = (uid: number | undefined = process.getuid?.()): string =>
  uid === 0 ? '/var/lib/agentpod-agent' : join(homedir(), '.agentpod-agent');

/** `/srv/a,/data` → absolute directories, normalised; empty → none. */
const fileRoots = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((root) => root.trim())
      .filter(Boolean),
  )
  .refine((roots) => roots.every((root) => root.startsWith('/') && !root.split('/').includes('..')), {
    error: 'must be comma-separated absolute directories (without "..")',
  });

export const AgentEnv = z.object({
  /**
   * The control plane's URL. `join` saves the URL it was given; when this is set it overrides the saved one
   * (the control plane moved). Local join (`AGENTPOD_AGENT_LOCAL_JOIN`) uses it, by default the local gateway.
   */
  AGENTPOD_GATEWAY_URL: httpUrl.optional(),
  /** Docker Engine socket. */
  AGENTPOD_DOCKER_SOCKET: z.string().min(1).default('/var/run/docker.sock'),
  AGENTPOD_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Where the agent keeps `credential.json` (0600, in a 0700 directory). */
  AGENTPOD_AGENT_STATE_DIR: z.string().min(1).default(defaultAgentStateDir()),
  /**
   * For `npm start` on the control-plane host: with no credential, `run` asks the gateway for a join token with
   * the bootstrap secret found in AGENTPOD_STATE_DIR, and joins as the node `local`.
   */
  AGENTPOD_AGENT_LOCAL_JOIN: flag,
  /** The gateway's state directory (its `bootstrap-secret`), read only for local join. */
  AGENTPOD_STATE_DIR: z.string().min(1).default(join(homedir(), '.agentpod')),
  /** `missing` pulls images a pod needs; `never` leaves them to be loaded by hand (air-gapped nodes, tests). */
  AGENTPOD_AGENT_PULL: z.enum(['missing', 'never']).default('missing'),
  /** Control-plane requests the agent runs at once; more wait their turn. */
  AGENTPOD_AGENT_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  /**
   * Host directories the node's files may be browsed and changed in (comma-separated absolute paths). Unset:
   * node files are closed (pod volumes work regardless).
   */
  AGENTPOD_FILE_ROOTS: fileRoots,
  /** Largest upload (and largest unpacked tar) in bytes. */
  AGENTPOD_FILE_MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(1024 ** 3),
  /** Entries one directory listing returns at most; a bigger directory is listed `truncated`. */
  AGENTPOD_FILE_MAX_LIST_ENTRIES: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  /** Terminal sessions (node shells and container execs) open at once; more are refused. */
  AGENTPOD_TERMINAL_MAX_SESSIONS: z.coerce.number().int().min(1).max(1024).default(32),
  /** The login shell of node terminals (else /bin/bash, else /bin/sh). */
  SHELL: z.string().optional(),
  /** Seconds between two metrics rounds (node and containers, sent as `metrics` frames). */
  AGENTPOD_METRICS_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
});
export type AgentEnv = z.infer<typeof AgentEnv>;

/** Where the local gateway listens when nobody said otherwise (the `npm start` default). */
export const LOCAL_GATEWAY_URL = 'http://127.0.0.1:8080';
