/*
 * The environment of `npm start` and `npm test`, parsed once. The same variables reach every AgentPod
 * process, which parse them again with their own schema (packages/kit BaseEnv); here we only need the
 * addresses of NATS and PostgreSQL and the gateway's port.
 */

export type StackEnv = {
  natsUrl: URL;
  databaseUrl: URL;
  /** The maintenance database that tests create their throwaway databases from. */
  testDatabaseUrl: URL;
  port: number;
  logLevel: string;
  /** Variables handed to every child process, on top of the inherited environment. */
  childEnv: Record<string, string>;
};

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export class EnvError extends Error {
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'EnvError';
  }
}

function parseUrl(env: NodeJS.ProcessEnv, name: string, fallback: string, protocols: string[]): URL {
  const value = env[name] ?? fallback;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new EnvError(name, `"${value}" is not a URL`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new EnvError(name, `must start with ${protocols.map((p) => `${p}//`).join(' or ')}, got "${value}"`);
  }
  return url;
}

/** Reads AGENTPOD_* with the same defaults as the services; throws an EnvError naming a bad variable. */
export function readStackEnv(env: NodeJS.ProcessEnv = process.env): StackEnv {
  const natsUrl = parseUrl(env, 'AGENTPOD_NATS_URL', 'nats://127.0.0.1:4222', ['nats:']);
  const databaseUrl = parseUrl(env, 'AGENTPOD_DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/agentpod', [
    'postgres:',
    'postgresql:',
  ]);
  const testDatabaseUrl = parseUrl(env, 'AGENTPOD_TEST_DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/postgres', [
    'postgres:',
    'postgresql:',
  ]);
  const portText = env.AGENTPOD_PORT ?? '8080';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new EnvError('AGENTPOD_PORT', `must be a port number (1-65535), got "${portText}"`);
  }
  const logLevel = env.AGENTPOD_LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new EnvError('AGENTPOD_LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  return {
    natsUrl,
    databaseUrl,
    testDatabaseUrl,
    port,
    logLevel,
    childEnv: {
      AGENTPOD_NATS_URL: env.AGENTPOD_NATS_URL ?? natsUrl.href,
      AGENTPOD_DATABASE_URL: env.AGENTPOD_DATABASE_URL ?? databaseUrl.href,
      AGENTPOD_PORT: String(port),
      AGENTPOD_LOG_LEVEL: logLevel,
      // The agent dials the gateway; on one machine that is the gateway started beside it.
      AGENTPOD_GATEWAY_URL: env.AGENTPOD_GATEWAY_URL ?? `http://127.0.0.1:${port}`,
    },
  };
}

/** host and port of a URL, with the protocol's default port. */
export function hostPort(url: URL, defaultPort: number): { host: string; port: number } {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  return { host, port: url.port ? Number(url.port) : defaultPort };
}

/** Whether a host name is this machine, where the scripts may start the service themselves. */
export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || host.startsWith('127.');
