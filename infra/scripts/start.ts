import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureDependencies } from './deps.ts';
import { readStackEnv, type StackEnv } from './env.ts';
import { describeFailure, repoRoot, runAttached, StepError } from './proc.ts';
import { type ProcessSpec, supervise } from './supervise.ts';

/*
 * `npm start`: the whole of AgentPod on this machine. Installs what is missing (Debian packages as root, npm
 * packages), makes sure NATS, PostgreSQL and Docker run, builds, then runs every service, the gateway and
 * the agent with prefixed logs until Ctrl-C. NATS, PostgreSQL and dockerd are left running afterwards: they
 * are system services, shared with anything else on the machine.
 *
 *   npm start [-- --no-install] [-- --no-build]
 */

const SERVICES = ['identity', 'tenants', 'pods', 'reconciler', 'monitor', 'ai', 'gateway'] as const;

function processSpecs(): { specs: ProcessSpec[]; missing: string[] } {
  const entries = [
    ...SERVICES.map((name) => ({ name, main: `services/${name}/dist/main.js` })),
    { name: 'agent', main: 'agent/dist/main.js' },
  ];
  const present = entries.filter((entry) => existsSync(join(repoRoot, entry.main)));
  return {
    specs: present.map(({ name, main }) => ({ name, argv: [process.execPath, main] as const })),
    missing: entries.filter((entry) => !present.includes(entry)).map((entry) => entry.main),
  };
}

/**
 * The agent's variables: with no credential it joins this host's control plane as the node `local` (reading the
 * gateway's bootstrap secret), and keeps its credential beside the gateway's state rather than in /var/lib. Only
 * the agent reads AGENTPOD_AGENT_*; they travel in the shared child environment because the supervisor has
 * one environment for all children.
 */
function agentEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const stateDir = env.AGENTPOD_STATE_DIR || join(homedir(), '.agentpod');
  return {
    AGENTPOD_AGENT_LOCAL_JOIN: '1',
    AGENTPOD_AGENT_STATE_DIR: env.AGENTPOD_AGENT_STATE_DIR || join(stateDir, 'agent'),
  };
}

/** node_modules is missing, or older than package-lock.json (npm records each install in node_modules/.package-lock.json). */
function needsNpmInstall(): boolean {
  const installed = join(repoRoot, 'node_modules', '.package-lock.json');
  const lock = join(repoRoot, 'package-lock.json');
  if (!existsSync(installed)) return true;
  return existsSync(lock) && statSync(lock).mtimeMs > statSync(installed).mtimeMs;
}

async function npm(args: string[], step: string, hint: string): Promise<void> {
  process.stdout.write(`[start] ${step}: npm ${args.join(' ')}\n`);
  const code = await runAttached('npm', args);
  if (code !== 0) throw new StepError(step, `npm ${args.join(' ')}`, `exited with ${code}`, hint);
}

type Health = { status?: string; services?: Record<string, { status?: string; error?: string }> };

/** One line about /healthz: up with all services healthy, or which are not (yet). */
async function healthLine(env: StackEnv): Promise<{ ok: boolean; line: string }> {
  const base = `http://127.0.0.1:${env.port}`;
  let body: Health;
  try {
    const response = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5_000) });
    body = (await response.json()) as Health;
  } catch {
    return { ok: false, line: `AgentPod is not up yet: the gateway does not answer on ${base}/healthz` };
  }
  const services = Object.entries(body.services ?? {});
  const unhealthy = services.filter(([, health]) => health.status !== 'ok');
  if (body.status === 'ok' && unhealthy.length === 0) {
    return { ok: true, line: `AgentPod is up: ${base} (all ${services.length} services healthy)` };
  }
  const list = unhealthy.map(([name, health]) => `${name} (${health.status ?? 'unknown'})`).join(', ');
  return { ok: false, line: `AgentPod is not healthy yet: ${list || `status ${body.status}`}` };
}

/**
 * Polls /healthz until everything is healthy and prints that line; before that, after a 20 s grace period for
 * start-up, prints which services are not healthy whenever that changes. Stops after 5 minutes.
 */
function watchHealth(env: StackEnv, signal: AbortSignal): void {
  let last = '';
  const started = Date.now();
  const tick = async () => {
    if (signal.aborted) return;
    const { ok, line } = await healthLine(env);
    const elapsed = Date.now() - started;
    if (line !== last && (ok || elapsed > 20_000)) {
      process.stdout.write(`\n${ok ? '✓' : '…'} ${line}\n\n`);
      last = line;
    }
    if (ok || signal.aborted) return;
    if (elapsed > 300_000) {
      process.stdout.write(
        `\n[start] stopped watching ${`http://127.0.0.1:${env.port}/healthz`}: still not healthy after 5 minutes\n`,
      );
      return;
    }
    setTimeout(tick, elapsed > 20_000 ? 5_000 : 1_000).unref();
  };
  setTimeout(tick, 1_000).unref();
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { 'no-install': { type: 'boolean', default: false }, 'no-build': { type: 'boolean', default: false } },
  });
  const install = !values['no-install'];
  const env = readStackEnv();

  if (install && needsNpmInstall()) await npm(['install'], 'npm packages', 'read the npm output above');
  await ensureDependencies({
    install,
    nats: 'start',
    natsUrl: env.natsUrl,
    databaseUrl: env.databaseUrl,
    createDatabase: true,
    // The control plane runs without Docker; only the agent's container work needs it, and it says so.
    docker: 'warn',
  });
  if (!values['no-build']) await npm(['run', 'build'], 'build', 'fix the compile errors above, or use --no-build');

  const { specs, missing } = processSpecs();
  for (const main of missing) process.stdout.write(`[start] skipping ${main}: not built\n`);
  if (specs.length === 0)
    throw new StepError('start', 'node <service>/dist/main.js', 'nothing is built', 'run npm run build');
  process.stdout.write(`[start] starting ${specs.map((s) => s.name).join(', ')} (Ctrl-C stops them)\n`);

  const supervisor = supervise(specs, { env: { ...env.childEnv, ...agentEnv() } });
  const health = new AbortController();
  if (specs.some((s) => s.name === 'gateway')) watchHealth(env, health.signal);

  const stopped = new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (reason: string) => {
      // npm forwards the terminal's SIGINT too, so the same signal may arrive twice: stop once.
      if (stopping) return;
      stopping = true;
      health.abort();
      process.stdout.write(`\n[start] ${reason}: stopping ${specs.length} processes (SIGTERM, SIGKILL after 10 s)\n`);
      void supervisor.stop(10_000).then(() => {
        process.stdout.write('[start] all stopped; NATS, PostgreSQL and dockerd keep running as system services\n');
        resolve(0);
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // `kill <npm's pid>` ends npm and its `sh -c`, but neither passes SIGTERM on to us: when our parent is
    // gone, stop as if it had.
    const parent = process.ppid;
    setInterval(() => process.ppid !== parent && onSignal('npm exited'), 1_000).unref();
    void supervisor.idle.then(({ failed }) => {
      if (stopping) return;
      health.abort();
      process.stdout.write(
        `[start] every process has exited${failed.length ? `; gave up on ${failed.join(', ')}` : ''}\n`,
      );
      resolve(failed.length > 0 ? 1 : 0);
    });
  });
  return stopped;
}

// Exit explicitly: a child's stray handle must not keep `npm start` hanging after Ctrl-C.
if (import.meta.main) {
  try {
    process.exit(await main());
  } catch (error) {
    process.stderr.write(`${describeFailure(error)}\n`);
    process.exit(1);
  }
}
