import { createLogger, parseEnv } from '@agentpod/kit';
import Docker from 'dockerode';
import { AgentEnv } from './env.ts';
import { readNodeFacts } from './node-facts.ts';

/*
 * The node agent. This first version checks the two things every later feature needs — the local Docker
 * Engine and the reachability of the control plane — and reports them. Joining with a node credential,
 * the outbound WebSocket and container management arrive with the nodes/pods work.
 */
let config: AgentEnv;
try {
  config = parseEnv(AgentEnv);
} catch (error) {
  process.stderr.write(`agent: failed to start: ${(error as Error).message}\n`);
  process.exit(1);
}
const logger = createLogger('agent', config.AGENTPOD_LOG_LEVEL);
const docker = new Docker({ socketPath: config.AGENTPOD_DOCKER_SOCKET });

logger.info({ facts: await readNodeFacts(docker) }, 'node facts');

let dockerOk: boolean | undefined;
let gatewayOk: boolean | undefined;
async function check(): Promise<void> {
  const docker_ = await docker.ping().then(
    () => true,
    (error: Error) => {
      if (dockerOk !== false)
        logger.warn({ err: error.message }, `Docker is not reachable at ${config.AGENTPOD_DOCKER_SOCKET}`);
      return false;
    },
  );
  if (docker_ && dockerOk !== true) logger.info('Docker is reachable');
  dockerOk = docker_;
  const healthUrl = new URL('/healthz', config.AGENTPOD_GATEWAY_URL);
  const gateway = await fetch(healthUrl, { signal: AbortSignal.timeout(3_000) }).then(
    (response) => response.status === 200 || response.status === 503,
    () => false,
  );
  if (gateway !== gatewayOk) {
    if (gateway) logger.info({ gateway: config.AGENTPOD_GATEWAY_URL }, 'control plane is reachable');
    else logger.warn({ gateway: config.AGENTPOD_GATEWAY_URL }, 'control plane is not reachable; will keep trying');
  }
  gatewayOk = gateway;
}

await check();
const timer = setInterval(() => void check(), config.AGENTPOD_AGENT_CHECK_INTERVAL * 1_000);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    clearInterval(timer);
    logger.info('stopped');
    process.exit(0);
  });
}
