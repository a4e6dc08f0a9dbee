import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '@agentpod/cli';
import { AppError, BOOTSTRAP_HEADER, PodLabels } from '@agentpod/contracts';
import { createTestDatabase, ensureTestImages, freePort, startNatsServer, testAdminUrl } from '@agentpod/kit/testing';
import Docker from 'dockerode';
import type { BenchContext } from '../harness.ts';
import { checkBuilt, entryPoints } from './build.ts';
import { BASELINE_LABEL, removeLabelled } from './containers.ts';
import { ContainerEvents } from './docker-events.ts';
import { startDockerView } from './docker-view.ts';
import { findPid, type MemoryReport, measureMemory } from './memory.ts';
import { assertAllRunning, type StackProcess, startProcess } from './processes.ts';
import { until } from './wait.ts';

/*
 * AgentPod on this machine the way `npm start` runs it, for benchmarks: every service, the gateway and the agent
 * as separate `node <dist>/main.js` processes, on a private nats-server and a fresh database, with their state in
 * a temporary directory. It is driven only through the REST API, as the CLI drives it: an admin is bootstrapped
 * with the gateway's secret, a tenant created, and the agent joins as the node `local` by itself.
 *
 * Everything is registered with the harness's defer(), so it is taken down on success, failure and Ctrl-C:
 * processes first (so nothing recreates a container), then this run's containers and volumes, the database,
 * nats-server and the temporary directory.
 */

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where the real Docker Engine listens; the agent gets a filtered view of it (docker-view.ts). */
const DOCKER_SOCKET = '/var/run/docker.sock';
/** Host ports for pods, away from `npm start`'s default range and the kernel's ephemeral ports. */
const PORT_RANGE = '31000-31999';
const START_TIMEOUT_MS = 60_000;
/** How long clean-up waits for creations in flight before removing containers anyway. */
const IN_FLIGHT_WAIT_MS = 30_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type Stack = {
  url: string;
  /** A platform admin's client (bearer token), the CLI's own HTTP client. */
  api: ApiClient;
  tenantId: string;
  /** Marks this run's baseline containers (label value), so clean-up finds them. */
  runId: string;
  docker: Docker;
  /** Create and start events of every container on this Docker Engine, from before the first pod. */
  events: ContainerEvents;
  processes: readonly StackProcess[];
  /**
   * Registers work that may create a container (a pod create, a docker run): clean-up waits for it before it
   * removes this run's containers. Returns `work`.
   */
  track<T>(work: Promise<T>): Promise<T>;
  /** Throws (with the log's end) when a process of the stack has died. */
  assertRunning(): Promise<void>;
  /** Throws when one of the named containers was removed while the benchmark did not remove any. */
  assertUndisturbed(names: readonly string[]): void;
  /** Resident memory of the processes, nats-server and this database's PostgreSQL backends. */
  memory(): Promise<MemoryReport>;
};

/**
 * Calls `call` again while it fails as `unavailable`: a first command can still find no responder while a
 * service's queue-group subscriptions settle on the server, so start-up does not fail on that.
 */
export async function whileUnavailable<T>(signal: AbortSignal, call: () => Promise<T>): Promise<T> {
  let result: T | undefined;
  await until('the first commands to be served', START_TIMEOUT_MS, signal, async () => {
    try {
      result = await call();
      return true;
    } catch (error) {
      if (error instanceof AppError && error.code === 'unavailable') return false;
      throw error;
    }
  });
  return result as T;
}

/** What a benchmark may change about the stack; the defaults are `npm start`'s. */
export type StackOptions = {
  /** More environment for every process (AGENTPOD_RECONCILE_INTERVAL_MS…); AGENTPOD_* of the caller never leak. */
  env?: Record<string, string>;
};

export async function startStack({ defer, log, signal }: BenchContext, options: StackOptions = {}): Promise<Stack> {
  for (const warning of await checkBuilt(repoRoot)) log(`warning: ${warning}`);
  await ensureTestImages();
  const runId = randomBytes(3).toString('hex');
  const tenantId = `bench-${runId}`;
  const docker = new Docker({ socketPath: DOCKER_SOCKET });

  const nats = await startNatsServer();
  defer(() => nats.stop());
  const database = await createTestDatabase('agentpod_bench');
  defer(() => database.drop());
  const dir = await mkdtemp(join(tmpdir(), 'agentpod-bench-'));
  defer(() => rm(dir, { recursive: true, force: true }));
  const stateDir = join(dir, 'state');
  const logDir = join(dir, 'logs');
  await mkdir(logDir);

  const events = await ContainerEvents.open(docker);
  defer(() => events.close());
  const view = await startDockerView({
    socketPath: join(dir, 'docker.sock'),
    upstream: DOCKER_SOCKET,
    visible: (labels) => labels[PodLabels.tenant] === tenantId,
  });
  defer(() => view.close());
  // Runs after the processes are stopped (defer runs newest first), so nothing recreates what it removes; and
  // after the creations still in flight (Ctrl-C) have ended, or one of them could add a container afterwards.
  const inFlight = new Set<Promise<unknown>>();
  defer(async () => {
    await Promise.race([Promise.allSettled([...inFlight]), sleep(IN_FLIGHT_WAIT_MS)]);
    await removeLabelled(docker, [`${PodLabels.tenant}=${tenantId}`, `${BASELINE_LABEL}=${runId}`]);
  });

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // The only place the stack's environment is made: what this process inherited minus any AGENTPOD_* setting
  // of the developer's own, which must not leak into a benchmark's stack.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AGENTPOD_')));
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    AGENTPOD_NATS_URL: nats.url,
    AGENTPOD_DATABASE_URL: database.url,
    AGENTPOD_LOG_LEVEL: 'info',
    AGENTPOD_STATE_DIR: stateDir,
    AGENTPOD_HOST: '127.0.0.1',
    AGENTPOD_PORT: String(port),
    AGENTPOD_PUBLIC_URL: url,
    AGENTPOD_PORT_RANGE: PORT_RANGE,
    AGENTPOD_GATEWAY_URL: url,
    AGENTPOD_AGENT_LOCAL_JOIN: '1',
    AGENTPOD_AGENT_STATE_DIR: join(dir, 'agent'),
    AGENTPOD_DOCKER_SOCKET: view.socketPath,
    ...options.env,
  };
  const processes: StackProcess[] = [];
  const launch = (name: string, main: string, args: string[] = []) => {
    const proc = startProcess({
      name,
      argv: [process.execPath, main, ...args],
      cwd: repoRoot,
      env,
      logFile: join(logDir, `${name}.log`),
    });
    processes.push(proc);
    defer(() => proc.stop());
    return proc;
  };
  const assertRunning = () => assertAllRunning(processes);

  const entries = entryPoints();
  for (const entry of entries) if (entry.name !== 'agent') launch(entry.name, entry.main);
  await until('every service healthy behind the gateway', START_TIMEOUT_MS, signal, async () => {
    await assertRunning();
    const response = await fetch(`${url}/healthz`).catch(() => undefined);
    const body = (await response?.json().catch(() => undefined)) as { status?: string } | undefined;
    return body?.status === 'ok';
  });

  const secret = (await readFile(join(stateDir, 'bootstrap-secret'), 'utf8')).trim();
  const { token } = await whileUnavailable(signal, () =>
    new ApiClient({ baseUrl: url }).call(
      'bootstrap',
      { body: { email: 'bench@example.com' } },
      { headers: { [BOOTSTRAP_HEADER]: secret } },
    ),
  );
  const api = new ApiClient({ baseUrl: url, token, interrupt: signal });
  await whileUnavailable(signal, () => api.call('createTenant', { body: { id: tenantId, name: 'Benchmarks' } }));

  launch('agent', entries.find((entry) => entry.name === 'agent')?.main ?? '', ['run']);
  await until('the agent online as node local, with its facts', START_TIMEOUT_MS, signal, async () => {
    await assertRunning();
    const { nodes } = await api.call('listNodes');
    return nodes.some((node) => node.name === 'local' && node.status === 'online' && node.facts !== null);
  });

  const natsPid = await findPid(join(nats.storeDir, 'nats.conf'));
  if (natsPid === undefined) throw new Error(`no nats-server process runs with ${nats.storeDir}/nats.conf`);
  log(`stack up: ${processes.length} processes, gateway ${url}, database ${database.name}, tenant ${tenantId}`);

  return {
    url,
    api,
    tenantId,
    runId,
    docker,
    events,
    processes,
    track(work) {
      inFlight.add(work);
      const forget = () => inFlight.delete(work);
      work.then(forget, forget);
      return work;
    },
    assertRunning,
    assertUndisturbed(names) {
      const removed = events.destroyed(names);
      if (removed.length === 0) return;
      throw new Error(
        `${removed.length} of this run's containers were removed by something else (${removed.slice(0, 3).join(', ')}…): ` +
          'probably another control plane on this Docker Engine whose agent sees every AgentPod container (an ' +
          '`npm start`), removing them as orphans. Its numbers would be wrong; stop it and run again.',
      );
    },
    memory: () =>
      measureMemory({
        processes: [...processes, { name: 'nats-server', pid: natsPid }],
        adminUrl: testAdminUrl(),
        database: database.name,
      }),
  };
}
