import { AppError } from '@agentpod/contracts';
import type { Logger } from '@agentpod/kit';
import Docker from 'dockerode';
import { AdoptionRegistry, registryFile } from '../adoption/registry.ts';
import { type RunningAgent, startAgent } from '../agent.ts';
import { agentSocketUrl } from '../connection/frames.ts';
import type { Fetch } from '../credential/gateway-api.ts';
import { localJoin } from '../credential/local-join.ts';
import { readCredential, type StoredCredential } from '../credential/store.ts';
import { type AgentEnv, LOCAL_GATEWAY_URL } from '../env.ts';
import { readNodeFacts } from '../node-facts.ts';
import { DockerRuntime } from '../runtime/index.ts';
import { AGENT_VERSION } from '../version.ts';

export type RunOptions = { config: AgentEnv; logger: Logger; fetch: Fetch; signal: AbortSignal };

/**
 * `agentpod-agent run`: the agent until `signal` aborts (SIGTERM/SIGINT). Without a credential it stops with
 * what to do, unless local join is on. Stopping closes the socket and nothing else: the node's containers run on.
 */
export async function runCommand(options: RunOptions): Promise<RunningAgent> {
  const { config, logger, signal } = options;
  const stateDir = config.AGENTPOD_AGENT_STATE_DIR;
  const join = () =>
    localJoin({
      fetch: options.fetch,
      gatewayUrl: config.AGENTPOD_GATEWAY_URL ?? LOCAL_GATEWAY_URL,
      bootstrapDir: config.AGENTPOD_STATE_DIR,
      stateDir,
      logger,
      signal,
    });

  let current: StoredCredential | null = await readCredential(stateDir);
  if (!current && config.AGENTPOD_AGENT_LOCAL_JOIN) {
    logger.info('no credential yet; joining the local control plane (AGENTPOD_AGENT_LOCAL_JOIN)');
    current = await join();
  }
  if (!current)
    throw new AppError(
      'unauthenticated',
      `this node has not joined yet (no ${stateDir}/credential.json): run the command \`agentpod node add\` ` +
        'printed, agentpod-agent join <url> <token>, then agentpod-agent run',
    );
  let active: StoredCredential = current;
  logger.info({ nodeId: active.nodeId, version: AGENT_VERSION }, `agent for node ${active.nodeId} starting`);

  const docker = new Docker({ socketPath: config.AGENTPOD_DOCKER_SOCKET });
  const runtime = new DockerRuntime(docker, {
    pull: config.AGENTPOD_AGENT_PULL,
    nodeId: () => active.nodeId,
    // The containers this node took over (`migrate adopt`), reported as their pods' from the first hello on.
    adoptions: await AdoptionRegistry.open(registryFile(stateDir)),
  });
  return startAgent({
    runtime,
    logger,
    concurrency: config.AGENTPOD_AGENT_CONCURRENCY,
    workspace: {
      docker,
      fileRoots: config.AGENTPOD_FILE_ROOTS,
      maxUploadBytes: config.AGENTPOD_FILE_MAX_UPLOAD_BYTES,
      maxListEntries: config.AGENTPOD_FILE_MAX_LIST_ENTRIES,
      maxTerminals: config.AGENTPOD_TERMINAL_MAX_SESSIONS,
      shell: config.SHELL,
    },
    metrics: {
      intervalMs: config.AGENTPOD_METRICS_INTERVAL_SECONDS * 1000,
      // Only for containers whose cgroup files cannot be read (metrics/README.md).
      dockerStats: (containerId) => docker.getContainer(containerId).stats({ stream: false, 'one-shot': true }),
    },
    facts: () => readNodeFacts(runtime, AGENT_VERSION),
    // Read before every attempt: an operator who ran `join` again (node removed and re-added) is picked up
    // without a restart.
    target: async () => {
      const saved = await readCredential(stateDir).catch((error: Error) => {
        logger.warn(error.message);
        return null;
      });
      if (saved && saved.credential !== active.credential) {
        logger.info({ nodeId: saved.nodeId }, `using the credential of a new join (node ${saved.nodeId})`);
        active = saved;
      }
      return { url: agentSocketUrl(config.AGENTPOD_GATEWAY_URL ?? active.gatewayUrl), credential: active.credential };
    },
    // With local join, a refused credential (the control plane's state was wiped) is replaced by joining again.
    ...(config.AGENTPOD_AGENT_LOCAL_JOIN
      ? {
          renew: async () => {
            logger.warn('the control plane refused the credential; joining the local control plane again');
            active = await join();
            return true;
          },
        }
      : {}),
  });
}
