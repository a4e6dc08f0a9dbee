import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join, relative } from 'node:path';
import { hostPort, isLoopback } from './env.ts';
import { ensureDatabase, ensurePostgres } from './postgres.ts';
import {
  display,
  isRoot,
  progress,
  repoRoot,
  run,
  runOrFail,
  StepError,
  startDaemon,
  tail,
  waitFor,
  which,
} from './proc.ts';

/*
 * What AgentPod needs on a Debian machine, installed and started when missing. Each step prints one line;
 * a failure is a StepError naming the step, the command and what to do. NATS, PostgreSQL and dockerd are
 * system services: once started here they keep running after `npm start` or `npm test` ends.
 */

/** Debian packages and how to tell each is installed without asking dpkg (a binary may come from elsewhere). */
export const PACKAGES = {
  'nats-server': () => Boolean(which('nats-server')),
  postgresql: () => Boolean(which('pg_ctlcluster') && which('psql')) && postgresServers() > 0,
  // The docker CLI alone (as on some CI images) cannot run containers: the engine is dockerd.
  'docker.io': () => Boolean(which('dockerd') && which('docker')),
  caddy: () => Boolean(which('caddy')),
  // Headless browser for the e2e tests.
  chromium: () => Boolean(which('chromium')),
} as const;
export type DebianPackage = keyof typeof PACKAGES;

function postgresServers(): number {
  try {
    return readdirSync('/usr/lib/postgresql').length;
  } catch {
    return 0;
  }
}

const APT_ENV = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };

/** Installs the packages whose binaries are absent with apt-get (as root), or says exactly what to run. */
export async function ensurePackages(packages: readonly DebianPackage[], options: { install: boolean }): Promise<void> {
  const step = 'Debian packages';
  const missing = packages.filter((p) => !PACKAGES[p]());
  if (missing.length === 0) {
    progress(step, `${packages.join(', ')} present`);
    return;
  }
  const installArgs = ['install', '-y', ...missing];
  const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (!options.install) {
    // The steps that need a missing package fail on their own, naming it; the others go on.
    progress(step, `missing ${missing.join(', ')}, not installing them (--no-install); to install: ${command}`);
    return;
  }
  if (!isRoot()) {
    throw new StepError(
      step,
      command,
      `missing: ${missing.join(', ')}, and installing needs root`,
      `run: sudo sh -c '${command}'`,
    );
  }
  progress(step, `installing ${missing.join(', ')} with apt-get (takes a minute or two)`);
  const hint = 'read the apt-get output above; run the command by hand to retry';
  await runOrFail(step, 'apt-get', ['update'], hint, { env: APT_ENV, timeoutMs: 600_000 });
  await runOrFail(step, 'apt-get', installArgs, hint, { env: APT_ENV, timeoutMs: 1_800_000 });
  const still = missing.filter((p) => !PACKAGES[p]());
  if (still.length > 0) {
    throw new StepError(
      step,
      display('apt-get', installArgs),
      `installed, but still missing: ${still.join(', ')}`,
      'check PATH',
    );
  }
  progress(step, `installed ${missing.join(', ')}`);
}

type NatsInfo = { version: string; jetstream: boolean; max_payload: number };

/** The INFO line a NATS server sends to every new connection (no client library needed). */
export function natsInfo(host: string, port: number, timeoutMs = 2_000): Promise<NatsInfo | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let buffer = '';
    const done = (info: NatsInfo | undefined) => {
      socket.destroy();
      resolve(info);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once('error', () => done(undefined));
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      const end = buffer.indexOf('\r\n');
      if (end < 0) return;
      const line = buffer.slice(0, end);
      try {
        done(line.startsWith('INFO ') ? (JSON.parse(line.slice(5)) as NatsInfo) : undefined);
      } catch {
        done(undefined);
      }
    });
  });
}

/**
 * NATS with JetStream at `url`. `start`: start nats-server with infra/nats/nats.dev.conf (store in
 * .agentpod/nats) when nothing listens there. `binary`: only the nats-server binary must exist (tests
 * start their own private servers).
 */
export async function ensureNats(url: URL, mode: 'start' | 'binary'): Promise<void> {
  const step = 'NATS';
  const binary = which('nats-server');
  if (!binary) throw new StepError(step, 'nats-server', 'not installed', 'apt-get install -y nats-server');
  if (mode === 'binary') {
    const version = await run(binary, ['--version']);
    progress(step, `${version.stdout.trim() || binary} (tests start their own servers)`);
    return;
  }
  const { host, port } = hostPort(url, 4222);
  const running = await natsInfo(host, port);
  if (running) {
    if (!running.jetstream) {
      throw new StepError(
        step,
        `nats://${host}:${port}`,
        'the server there runs without JetStream',
        'restart it with -js',
      );
    }
    const payload =
      running.max_payload < 8 * 1024 * 1024 ? `; max_payload ${running.max_payload} B, AgentPod's config has 8 MB` : '';
    progress(step, `nats-server ${running.version} with JetStream already on ${host}:${port}${payload}`);
    return;
  }
  if (!isLoopback(host)) {
    throw new StepError(
      step,
      `connect ${host}:${port}`,
      'nothing answers',
      'start that server, or fix AGENTPOD_NATS_URL',
    );
  }
  const logFile = join(repoRoot, '.agentpod', 'nats.log');
  const args = ['-c', 'infra/nats/nats.dev.conf', '-a', host, '-p', String(port)];
  const daemon = startDaemon(binary, args, logFile);
  const ready = await waitFor(
    async () => daemon.exited() !== undefined || (await natsInfo(host, port)) !== undefined,
    15_000,
  );
  const exit = daemon.exited();
  if (!ready || exit) {
    const reason = exit ? `nats-server ${exit}` : `not answering on ${host}:${port} after 15 s`;
    const log = await run('tail', ['-n', '3', logFile]);
    throw new StepError(
      step,
      display(binary, args),
      `${reason}; log ${relative(repoRoot, logFile)}:\n${tail(log.stdout, 3)}`,
      'read that log',
    );
  }
  progress(
    step,
    `started nats-server (pid ${daemon.pid}) on ${host}:${port}, JetStream store .agentpod/nats, log .agentpod/nats.log`,
  );
}

async function dockerVersion(): Promise<DockerEngine | undefined> {
  const result = await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 20_000 });
  return result.code === 0 && result.stdout.trim() ? { version: result.stdout.trim() } : undefined;
}
type DockerEngine = { version: string };

/** A Docker Engine answering `docker info`: dockerd is started in the background (as root) when it does not. */
export async function ensureDocker(): Promise<void> {
  const step = 'Docker';
  const running = await dockerVersion();
  if (running) {
    progress(step, `engine ${running.version} running`);
    return;
  }
  const dockerd = which('dockerd');
  if (!dockerd) throw new StepError(step, 'dockerd', 'not installed', 'apt-get install -y docker.io');
  if (!isRoot())
    throw new StepError(step, 'dockerd', 'the engine is not running and starting it needs root', 'run: sudo dockerd &');
  const logFile = join(repoRoot, '.agentpod', 'dockerd.log');
  const daemon = startDaemon(dockerd, [], logFile);
  const started = Date.now();
  let version: DockerEngine | undefined;
  const answered = async () => {
    version = await dockerVersion();
    return version !== undefined;
  };
  await waitFor(async () => daemon.exited() !== undefined || (await answered()), 60_000, 1_000);
  if (!version) {
    const log = await run('tail', ['-n', '8', logFile]);
    const reason = daemon.exited() ? `dockerd ${daemon.exited()}` : '`docker info` still fails after 60 s';
    throw new StepError(
      step,
      'dockerd',
      `${reason}; log .agentpod/dockerd.log:\n${tail(log.stdout, 8)}`,
      'read that log',
    );
  }
  progress(
    step,
    `started dockerd (pid ${daemon.pid}), engine ${version.version} ready in ${((Date.now() - started) / 1000).toFixed(1)} s, log .agentpod/dockerd.log`,
  );
}

export type DependencyOptions = {
  /** Install missing Debian packages (false with --no-install). */
  install: boolean;
  /** `start`: a NATS server must answer at natsUrl; `binary`: only nats-server must be installed. */
  nats: 'start' | 'binary';
  natsUrl: URL;
  /** PostgreSQL must accept this URL's login; its database is created when `createDatabase`. */
  databaseUrl: URL;
  createDatabase: boolean;
  /** `require`: fail without a Docker Engine; `warn`: print the failure and go on (not every machine can run dockerd). */
  docker: 'require' | 'warn';
};

/** Everything AgentPod's processes or tests need on this machine, in order. */
export async function ensureDependencies(options: DependencyOptions): Promise<void> {
  await ensurePackages(['nats-server', 'postgresql', 'docker.io', 'caddy'], { install: options.install });
  await ensureNats(options.natsUrl, options.nats);
  await ensurePostgres(options.databaseUrl);
  if (options.createDatabase) await ensureDatabase(options.databaseUrl);
  try {
    await ensureDocker();
  } catch (error) {
    if (options.docker === 'require' || !(error instanceof StepError)) throw error;
    progress(
      'Docker',
      `WARNING, going on without it: ${error.message.split('\n')[0]} (command: ${error.command}; ${error.hint})`,
    );
  }
}

/** `node infra/scripts/deps.ts [--no-install]`: what `npm start` ensures, without starting AgentPod. */
if (import.meta.main) {
  const { readStackEnv } = await import('./env.ts');
  const { describeFailure } = await import('./proc.ts');
  try {
    const env = readStackEnv();
    await ensureDependencies({
      install: !process.argv.includes('--no-install'),
      nats: 'start',
      natsUrl: env.natsUrl,
      databaseUrl: env.databaseUrl,
      createDatabase: true,
      docker: 'warn',
    });
  } catch (error) {
    process.stderr.write(`${describeFailure(error)}\n`);
    process.exit(1);
  }
}
