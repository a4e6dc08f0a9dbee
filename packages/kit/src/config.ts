import { z } from 'zod';

/** Thrown at start-up when the environment does not parse; names every bad variable. */
export class ConfigError extends Error {
  readonly variables: string[];
  constructor(message: string, variables: string[]) {
    super(message);
    this.name = 'ConfigError';
    this.variables = variables;
  }
}

/** Parses the environment once, at start-up, and names each variable that is wrong and why. */
export function parseEnv<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const variable = String(issue.path[0] ?? '(environment)');
    return { variable, text: `${variable}: ${issue.message}` };
  });
  throw new ConfigError(
    `invalid configuration: ${problems.map((p) => p.text).join('; ')}`,
    problems.map((p) => p.variable),
  );
}

const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    `must be a URL starting with ${protocols.join(' or ')}//`,
  );

/** Variables every AgentPod process understands. */
export const BaseEnv = z.object({
  AGENTPOD_NATS_URL: url(['nats:', 'tls:', 'ws:', 'wss:']).default('nats://127.0.0.1:4222'),
  AGENTPOD_DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/agentpod'),
  /**
   * PostgreSQL connections per process (the pool; projection locks take one more). Small by default: each
   * backend costs ~10 MB of server memory, and a service's queries are short.
   */
  AGENTPOD_DATABASE_POOL: z.coerce.number().int().min(1).max(100).default(4),
  AGENTPOD_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces; tracing export is off when unset. */
  AGENTPOD_OTLP_URL: url(['http:', 'https:']).optional(),
});
export type BaseEnv = z.infer<typeof BaseEnv>;
