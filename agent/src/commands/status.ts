import type { Fetch } from '../credential/gateway-api.ts';
import { credentialFile, readCredential } from '../credential/store.ts';
import type { ContainerRuntime } from '../runtime/index.ts';

export type StatusOptions = {
  stateDir: string;
  gatewayOverride: string | undefined;
  dockerSocket: string;
  runtime: Pick<ContainerRuntime, 'version'>;
  fetch: Fetch;
};

export type AgentStatus = {
  credentialFile: string;
  credential: 'present' | 'missing' | 'unreadable';
  problem: string | null;
  nodeId: string | null;
  gateway: { url: string; reachable: boolean; error: string | null } | null;
  docker: { socket: string; reachable: boolean; version: string | null; error: string | null };
};

/** `agentpod-agent status`: what this node would run with, checked now. OK = a credential and a reachable Docker. */
export async function readStatus(options: StatusOptions): Promise<AgentStatus> {
  const file = credentialFile(options.stateDir);
  let saved: Awaited<ReturnType<typeof readCredential>> = null;
  let problem: string | null = null;
  try {
    saved = await readCredential(options.stateDir);
  } catch (error) {
    problem = (error as Error).message;
  }
  const gatewayUrl = options.gatewayOverride ?? saved?.gatewayUrl;
  const [docker, gateway] = await Promise.all([
    options.runtime.version().then(
      (v) => ({ socket: options.dockerSocket, reachable: true, version: v.version, error: null }),
      (error: Error) => ({ socket: options.dockerSocket, reachable: false, version: null, error: error.message }),
    ),
    gatewayUrl ? probeGateway(options.fetch, gatewayUrl) : Promise.resolve(null),
  ]);
  return {
    credentialFile: file,
    credential: problem ? 'unreadable' : saved ? 'present' : 'missing',
    problem,
    nodeId: saved?.nodeId ?? null,
    gateway,
    docker,
  };
}

async function probeGateway(fetchFn: Fetch, url: string): Promise<NonNullable<AgentStatus['gateway']>> {
  try {
    const response = await fetchFn(new URL('/healthz', url), { signal: AbortSignal.timeout(3_000) });
    await response.body?.cancel();
    // 503 is a gateway that answers but finds a service unhealthy: reachable all the same.
    const reachable = response.status === 200 || response.status === 503;
    return { url, reachable, error: reachable ? null : `answered ${response.status}` };
  } catch (error) {
    const cause = (error as Error & { cause?: { code?: string } }).cause?.code;
    return { url, reachable: false, error: cause ?? (error as Error).message };
  }
}

export const statusOk = (status: AgentStatus): boolean => status.credential === 'present' && status.docker.reachable;

export function formatStatus(status: AgentStatus): string {
  const rows: [string, string][] = [
    [
      'credential',
      status.credential === 'present'
        ? status.credentialFile
        : status.credential === 'missing'
          ? `none at ${status.credentialFile}: run agentpod-agent join <url> <token>`
          : `unreadable: ${status.problem}`,
    ],
    ['node', status.nodeId ?? '-'],
    [
      'gateway',
      status.gateway
        ? `${status.gateway.url} (${status.gateway.reachable ? 'reachable' : `not reachable: ${status.gateway.error}`})`
        : '-',
    ],
    [
      'docker',
      status.docker.reachable
        ? `${status.docker.version} at ${status.docker.socket}`
        : `not reachable at ${status.docker.socket}: ${status.docker.error}`,
    ],
  ];
  return `${rows.map(([name, value]) => `${name.padEnd(11)} ${value}`).join('\n')}\n`;
}
