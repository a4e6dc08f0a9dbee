import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BOOTSTRAP_HEADER } from '@agentpod/contracts';
import {
  createTestDatabase,
  freePort,
  startNatsServer,
  type TestDatabase,
  type TestNatsServer,
} from '@agentpod/kit/testing';
import { type ServiceProcess, startServiceProcess } from './service-process.ts';
import { Cleanup, tempDir } from './stack.ts';

/*
 * The control plane as separate processes, the way it runs in production (one process per service and replica,
 * the gateway on a real port), on a private nats-server and a fresh database. Unlike `startStack` (in-process
 * services), any process can be stopped, SIGKILLed, frozen and started again while the rest runs on — what the
 * self-healing tests do to it. NATS and PostgreSQL are not control-plane processes: they stay up throughout.
 *
 * An instance is named after its service, with a suffix for further replicas (`reconciler`, `reconciler-2`).
 */

export type ServiceName = 'identity' | 'tenants' | 'pods' | 'reconciler' | 'monitor' | 'ai' | 'gateway';

export type ControlPlaneOptions = {
  /** The instances to run, e.g. ['identity', 'tenants', 'pods', 'reconciler', 'reconciler-2', 'gateway']. */
  instances: readonly string[];
  /** More environment for every process (AGENTPOD_RECONCILE_INTERVAL_MS, AGENTPOD_PORT_RANGE…). */
  env?: Record<string, string>;
  /** Log level of the processes (their output is kept in memory and shown when a test fails); default info. */
  logLevel?: string;
};

export type ControlPlane = {
  nats: TestNatsServer;
  database: TestDatabase;
  /** The gateway's URL: fixed for the stack's life, so an agent finds a restarted gateway where it was. */
  url: string;
  /** AGENTPOD_STATE_DIR of every process (`bootstrap-secret` is there). */
  stateDir: string;
  /** The environment every process gets. */
  env: Record<string, string>;
  instances: readonly string[];
  /** The running process of an instance (the latest one started); throws when it never ran. */
  process(instance: string): ServiceProcess;
  /** Starts an instance (again) and waits until it is ready: `<service> is ready`, or the gateway answering. */
  start(instance: string): Promise<ServiceProcess>;
  /** Stops an instance politely (SIGTERM) or with `signal`, and waits for its end. */
  stop(instance: string, signal?: NodeJS.Signals): Promise<void>;
  /** Starts these instances (default: all) at once and waits until each is ready. */
  startAll(instances?: readonly string[]): Promise<void>;
  /** Stops these instances (default: all) at once. */
  stopAll(instances?: readonly string[]): Promise<void>;
  /** The last part of every instance's output, for a failed test's report. */
  report(): string;
  /** Stops every process, drops the database and stops nats-server. */
  close(): Promise<void>;
};

/** `reconciler-2` → `reconciler`. */
export const serviceOf = (instance: string): ServiceName => instance.replace(/-\d+$/, '') as ServiceName;

const mainOf = (service: ServiceName) => `services/${service}/src/main.ts`;

/** The gateway is ready once it answers HTTP at all (its /healthz needs every service, which a test may not run). */
async function gatewayAnswers(url: string, proc: ServiceProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!proc.running()) throw new Error(`the gateway exited:\n${proc.output().slice(-8_000)}`);
    const answered = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) }).then(
      () => true,
      () => false,
    );
    if (answered) return;
    if (Date.now() > deadline) throw new Error(`the gateway did not answer in ${timeoutMs} ms:\n${proc.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const cleanup = new Cleanup();
  const processes = new Map<string, ServiceProcess>();
  try {
    const nats = await startNatsServer();
    cleanup.add(() => nats.stop());
    const database = await createTestDatabase();
    cleanup.add(() => database.drop());
    const dir = await tempDir(cleanup, 'control-plane');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const stateDir = join(dir, 'state');
    const env: Record<string, string> = {
      HOME: join(dir, 'home'),
      AGENTPOD_NATS_URL: nats.url,
      AGENTPOD_DATABASE_URL: database.url,
      AGENTPOD_LOG_LEVEL: options.logLevel ?? 'info',
      AGENTPOD_STATE_DIR: stateDir,
      // One key for the stack's life: a restarted pods service must decrypt what it stored before.
      AGENTPOD_SECRETS_KEY: randomBytes(32).toString('base64'),
      AGENTPOD_HOST: '127.0.0.1',
      AGENTPOD_PORT: String(port),
      AGENTPOD_PUBLIC_URL: url,
      ...options.env,
    };
    // Registered before any process starts: runs after every process is stopped (clean-up runs newest first).
    cleanup.add(() => Promise.allSettled([...processes.values()].map((proc) => proc.stop('SIGTERM', 5_000))));

    const start = async (instance: string) => {
      if (!options.instances.includes(instance)) throw new Error(`${instance} is not one of this stack's instances`);
      const previous = processes.get(instance);
      if (previous?.running()) throw new Error(`${instance} runs already (pid ${previous.pid})`);
      const service = serviceOf(instance);
      const proc = startServiceProcess(instance, mainOf(service), env);
      processes.set(instance, proc);
      if (service === 'gateway') await gatewayAnswers(url, proc, 90_000);
      else await proc.waitFor(new RegExp(`"msg":"${service} is ready"`), { timeoutMs: 90_000 });
      return proc;
    };
    const stop = async (instance: string, signal: NodeJS.Signals = 'SIGTERM') => {
      await processes.get(instance)?.stop(signal);
    };
    const startAll = async (instances: readonly string[] = options.instances) => {
      // All at once: replicas of one service share its schema, and migrations are serialised by an advisory lock.
      const results = await Promise.allSettled(instances.map(start));
      const failed = results.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
    };
    const stopAll = async (instances: readonly string[] = options.instances) => {
      await Promise.all(instances.map((instance) => stop(instance)));
    };

    await startAll();
    return {
      nats,
      database,
      url,
      stateDir,
      env,
      instances: options.instances,
      process(instance) {
        const proc = processes.get(instance);
        if (!proc) throw new Error(`${instance} never ran`);
        return proc;
      },
      start,
      stop,
      startAll,
      stopAll,
      report: () =>
        [...processes.values()]
          .map(
            (proc) =>
              `--- ${proc.name} (pid ${proc.pid}, ${proc.running() ? 'running' : 'ended'}):\n${proc.output().slice(-6_000)}`,
          )
          .join('\n'),
      close: () => cleanup.run(),
    };
  } catch (error) {
    await cleanup.run();
    throw error;
  }
}

/** Makes `email` the first platform admin with the host's bootstrap secret (as `admin bootstrap` does); its token. */
export async function bootstrapAdmin(cp: ControlPlane, email: string): Promise<string> {
  const secret = (await readFile(join(cp.stateDir, 'bootstrap-secret'), 'utf8')).trim();
  const answer = await fetch(`${cp.url}/api/v1/admin/bootstrap`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [BOOTSTRAP_HEADER]: secret },
    body: JSON.stringify({ email }),
  });
  assert.equal(answer.status, 201, await answer.clone().text());
  return ((await answer.json()) as { token: string }).token;
}

/**
 * The clean-up of a test's agent: stops it and, when a test failed, prints the last of its output and of the
 * control plane's, which is where the reason usually is.
 */
export const stopAgentAndReport =
  (
    agent: () => { stop(): Promise<number | null>; output(): string } | undefined,
    failed: () => boolean,
    cp: ControlPlane,
  ) =>
  async (): Promise<void> => {
    const running = agent();
    const code = await running?.stop();
    if (!failed()) return;
    process.stderr.write(`agent output (exit ${code}):\n${running?.output().slice(-20_000)}\n`);
    process.stderr.write(`control plane:\n${cp.report()}\n`);
  };
