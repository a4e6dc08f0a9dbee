import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '@agentpod/cli';
import { BOOTSTRAP_HEADER } from '@agentpod/contracts';
import { createTestDatabase, freePort, startNatsServer, type TestDatabase } from '@agentpod/kit/testing';
import type { BenchContext } from '../harness.ts';
import { checkBuilt, entryPoints, type ServiceName } from './build.ts';
import { assertAllRunning, type StackProcess, startProcess } from './processes.ts';
import { whileUnavailable } from './stack.ts';
import { until } from './wait.ts';

/*
 * Some of the control plane's processes (built dist, one `node <service>/dist/main.js` each) on a private
 * nats-server and a fresh database, without an agent or Docker: for benchmarks whose nodes are simulated
 * (simulated-agent.ts). An admin is bootstrapped with the gateway's secret and one tenant created. Everything is
 * registered with the harness's defer().
 */

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const START_TIMEOUT_MS = 90_000;

export type ControlPlane = {
  url: string;
  natsUrl: string;
  database: TestDatabase;
  api: ApiClient;
  tenantId: string;
  processes: ReadonlyMap<ServiceName, StackProcess>;
  assertRunning(): Promise<void>;
};

export async function startControlPlane(
  { defer, log, signal }: BenchContext,
  options: { services: readonly ServiceName[]; env?: Record<string, string> },
): Promise<ControlPlane> {
  for (const warning of await checkBuilt(repoRoot)) log(`warning: ${warning}`);
  const runId = randomBytes(3).toString('hex');
  const tenantId = `bench-${runId}`;
  const nats = await startNatsServer();
  defer(() => nats.stop());
  const database = await createTestDatabase('agentpod_bench');
  defer(() => database.drop());
  const dir = await mkdtemp(join(tmpdir(), 'agentpod-bench-'));
  defer(() => rm(dir, { recursive: true, force: true }));
  const stateDir = join(dir, 'state');
  const logDir = join(dir, 'logs');
  await mkdir(logDir);

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AGENTPOD_')));
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    AGENTPOD_NATS_URL: nats.url,
    AGENTPOD_DATABASE_URL: database.url,
    AGENTPOD_LOG_LEVEL: 'info',
    AGENTPOD_STATE_DIR: stateDir,
    AGENTPOD_SECRETS_KEY: randomBytes(32).toString('base64'),
    AGENTPOD_HOST: '127.0.0.1',
    AGENTPOD_PORT: String(port),
    AGENTPOD_PUBLIC_URL: url,
    ...options.env,
  };

  const processes = new Map<ServiceName, StackProcess>();
  const assertRunning = () => assertAllRunning([...processes.values()]);
  const entries = entryPoints();
  await Promise.all(
    options.services.map(async (name) => {
      const main = entries.find((entry) => entry.name === name)?.main ?? '';
      const proc = startProcess({
        name,
        argv: [process.execPath, main],
        cwd: repoRoot,
        env,
        logFile: join(logDir, `${name}.log`),
      });
      processes.set(name, proc);
      defer(() => proc.stop());
      await until(`${name} ready`, START_TIMEOUT_MS, signal, async () => {
        await assertRunning();
        if (name === 'gateway') return (await fetch(`${url}/healthz`).catch(() => undefined)) !== undefined;
        return (await readFile(proc.logFile, 'utf8').catch(() => '')).includes(`"msg":"${name} is ready"`);
      });
    }),
  );

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
  log(`control plane up: ${options.services.join(', ')}; gateway ${url}, database ${database.name}`);
  return { url, natsUrl: nats.url, database, api, tenantId, processes, assertRunning };
}

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat. */
export async function cpuTimeMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of the whole line)
  return (ticks * 1000) / CLOCK_TICKS;
}

/** USER_HZ: Linux reports /proc times in 1/100 s on every architecture it runs on. */
const CLOCK_TICKS = 100;
