#!/usr/bin/env node
import { AppError } from '@agentpod/contracts';
import { createLogger, parseEnv } from '@agentpod/kit';
import Docker from 'dockerode';
import { joinCommand } from './commands/join.ts';
import { runCommand } from './commands/run.ts';
import { formatStatus, readStatus, statusOk } from './commands/status.ts';
import { AgentEnv } from './env.ts';
import { DockerRuntime } from './runtime/index.ts';
import { AGENT_VERSION } from './version.ts';

const USAGE = `usage: agentpod-agent [command]

  join <url> <token>   trade a join token (from \`agentpod node add\`) for this node's credential
  run                  connect to the control plane and manage this node's pods (the default)
  status [--json]      the saved credential, the control plane and Docker, checked now

environment:
  AGENTPOD_AGENT_STATE_DIR    where credential.json lives (root: /var/lib/agentpod-agent, else ~/.agentpod-agent)
  AGENTPOD_GATEWAY_URL        overrides the control plane URL saved by join
  AGENTPOD_DOCKER_SOCKET      Docker Engine socket (default /var/run/docker.sock)
  AGENTPOD_AGENT_LOCAL_JOIN   1: with no credential, join the control plane on this host (npm start)
  AGENTPOD_LOG_LEVEL          info (default), debug, warn, …
`;

const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

function fail(message: string, code: number = EXIT.failed): number {
  process.stderr.write(`agentpod-agent: ${message}\n`);
  return code;
}

async function main(args: string[]): Promise<number> {
  const [command = 'run', ...rest] = args;
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (command === '--version') {
    process.stdout.write(`${AGENT_VERSION}\n`);
    return EXIT.ok;
  }
  let config: AgentEnv;
  try {
    config = parseEnv(AgentEnv);
  } catch (error) {
    return fail((error as Error).message);
  }
  const write = (text: string) => process.stdout.write(text);
  switch (command) {
    case 'join': {
      const [url, token, ...extra] = rest;
      if (!url || !token || extra.length > 0) return fail(`join takes <url> <token>\n\n${USAGE}`, EXIT.usage);
      await joinCommand({ url, token, stateDir: config.AGENTPOD_AGENT_STATE_DIR, fetch, out: write });
      return EXIT.ok;
    }
    case 'status': {
      if (rest.some((arg) => arg !== '--json')) return fail(`status takes only --json\n\n${USAGE}`, EXIT.usage);
      const status = await readStatus({
        stateDir: config.AGENTPOD_AGENT_STATE_DIR,
        gatewayOverride: config.AGENTPOD_GATEWAY_URL,
        dockerSocket: config.AGENTPOD_DOCKER_SOCKET,
        runtime: new DockerRuntime(new Docker({ socketPath: config.AGENTPOD_DOCKER_SOCKET })),
        fetch,
      });
      write(rest.includes('--json') ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
      return statusOk(status) ? EXIT.ok : EXIT.failed;
    }
    case 'run': {
      if (rest.length > 0) return fail(`run takes no arguments\n\n${USAGE}`, EXIT.usage);
      const logger = createLogger('agent', config.AGENTPOD_LOG_LEVEL);
      const stopping = new AbortController();
      const stopped = new Promise<string>((resolve) => {
        for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve(signal));
      });
      void stopped.then(() => stopping.abort());
      const starting = runCommand({ config, logger, fetch, signal: stopping.signal });
      starting.catch(() => {}); // a start cut short by a signal is no failure; any other failure is raised below
      const agent = await Promise.race([starting, stopped.then(() => undefined)]);
      const signal = await stopped;
      await agent?.stop();
      logger.info({ signal }, 'stopped; containers keep running');
      return EXIT.ok;
    }
    default:
      return fail(`unknown command "${command}"\n\n${USAGE}`, EXIT.usage);
  }
}

// Exit explicitly: open handles (Docker's keep-alive agent) must not keep a finished command alive.
try {
  process.exit(await main(process.argv.slice(2)));
} catch (error) {
  process.exit(fail(error instanceof AppError ? error.message : String((error as Error).stack ?? error)));
}
