import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  AppError,
  type ContainerSpecInput,
  type EventOf,
  newId,
  PodQueries,
  PodSpec,
  podAggregateId,
  podEvents,
  querySubject,
  ReconcilerStats,
  type RequestMeta,
  systemActor,
} from '@agentpod/contracts';
import {
  type AggregatePosition,
  createLogger,
  EMPTY_POSITION,
  EventStore,
  handler,
  request,
  serveRequests,
} from '@agentpod/kit';
import { createTestDatabase, startNatsServer } from '@agentpod/kit/testing';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import Docker from 'dockerode';
// Test-only: the agent's real Docker runtime, by path (the agent package exports no runtime for services to use).
import { DockerRuntime } from '../../../../agent/src/runtime/index.ts';
import { EmulatedAgent, type Owns } from './emulated-agent.testing.ts';

/*
 * Reconciler replicas as separate processes (main.ts from the sources, as `npm start` runs dist/main.js), so one
 * can be killed with SIGKILL, on a private nats-server and a fresh database, with emulated agents over real Docker
 * and a stand-in for the pods service (pod events appended by the test, pods.qry.containerSpec answered from them).
 * The agents' Docker runtime counts the operations under way per pod: two at once on one pod is what replicas
 * must never do.
 */

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const RUN_LABEL = 'agentpod-test.run';

type PodEvent = EventOf<typeof podEvents>;
type PodRecord = { spec: PodSpec; generation: number; volumeName: string | null };

/** Docker operations that change a pod's container, counted per pod while they run. */
export class CountingRuntime extends DockerRuntime {
  /** The most operations seen at once on one pod, per pod. */
  readonly peak = new Map<string, number>();
  /** Overlaps seen: `tenant/pod: op while op`. */
  readonly overlaps: string[] = [];
  readonly #running = new Map<string, string[]>();
  readonly #podOf = new Map<string, string>();

  async #count<T>(op: string, pod: string | undefined, run: () => Promise<T>): Promise<T> {
    if (pod === undefined) return run();
    const running = this.#running.get(pod) ?? [];
    if (running.length > 0) this.overlaps.push(`${pod}: ${op} while ${running.join(', ')}`);
    running.push(op);
    this.#running.set(pod, running);
    this.peak.set(pod, Math.max(this.peak.get(pod) ?? 0, running.length));
    try {
      return await run();
    } finally {
      running.splice(running.indexOf(op), 1);
    }
  }

  async #pod(ref: string): Promise<string | undefined> {
    const known = this.#podOf.get(ref);
    if (known) return known;
    const found = await super.inspect(ref).catch(() => null);
    if (!found) return undefined;
    const pod = `${found.tenantId}/${found.podId}`;
    this.#podOf.set(ref, pod);
    this.#podOf.set(found.id, pod);
    return pod;
  }

  override async create(input: ContainerSpecInput) {
    const pod = `${input.tenantId}/${input.podId}`;
    const created = await this.#count('create', pod, () => super.create(input));
    this.#podOf.set(created.id, pod);
    return created;
  }
  override async start(ref: string) {
    return this.#count('start', await this.#pod(ref), () => super.start(ref));
  }
  override async stop(ref: string, options: { timeoutSeconds?: number } = {}) {
    return this.#count('stop', await this.#pod(ref), () => super.stop(ref, options));
  }
  override async restart(ref: string, options: { timeoutSeconds?: number } = {}) {
    return this.#count('restart', await this.#pod(ref), () => super.restart(ref, options));
  }
  override async remove(ref: string, options: { volume?: boolean } = {}) {
    return this.#count('remove', await this.#pod(ref), () => super.remove(ref, options));
  }
}

export type Replica = { name: string; child: ChildProcess; exited: Promise<number | null>; log: () => string };

export type ReplicaStack = {
  tenantId: string;
  nc: NatsConnection;
  docker: Docker;
  runtime: CountingRuntime;
  agent(nodeId: string, owns: Owns): Promise<EmulatedAgent>;
  podEvent(podId: string, event: PodEvent): Promise<void>;
  /** Starts one more reconciler process. */
  replica(name: string): Promise<Replica>;
  /** The reconciler's view of its replicas (answered by any live one). */
  stats(): Promise<ReconcilerStats>;
  stop(): Promise<void>;
};

export async function startReplicaStack(options: { intervalMs: number; shards: number }): Promise<ReplicaStack> {
  const run = randomBytes(3).toString('hex');
  const tenantId = `rr${run}`;
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    const docker = new Docker();
    const runtime = new CountingRuntime(docker, { pull: 'never' });
    cleanups.push(() => removeTenantResources(docker, tenantId));
    const nats = await startNatsServer();
    cleanups.push(() => nats.stop());
    const database = await createTestDatabase('agentpod_reconciler_replicas');
    cleanups.push(() => database.drop());
    const nc = await connect({ servers: nats.url });
    cleanups.push(() => nc.close());
    const store = new EventStore(jetstream(nc), await jetstreamManager(nc));
    const logger = createLogger('stand-in', 'silent');

    const pods = new Map<string, PodRecord>();
    const responder = serveRequests({
      nc,
      subject: querySubject('pods', 'containerSpec'),
      queue: 'pods',
      logger,
      handler: handler(PodQueries.containerSpec, async ({ tenantId: t, podId, generation }) => {
        const pod = pods.get(podId);
        if (t !== tenantId || !pod || pod.generation !== generation)
          throw new AppError('not_found', `no generation ${generation} of ${t}/${podId}`);
        const spec: ContainerSpecInput = {
          tenantId,
          podId,
          generation,
          image: pod.spec.image,
          env: pod.spec.env,
          limits: pod.spec.limits,
          labels: { [RUN_LABEL]: run },
          ...(pod.volumeName && pod.spec.volume
            ? { volume: { name: pod.volumeName, mountPath: pod.spec.volume.mountPath } }
            : {}),
        };
        return spec;
      }),
    });
    cleanups.push(async () => responder.unsubscribe());

    const meta = (extra: Partial<RequestMeta> = {}): RequestMeta => ({
      actor: systemActor('test'),
      correlationId: newId(),
      ...extra,
    });
    const positions = new Map<string, AggregatePosition>();
    return {
      tenantId,
      nc,
      docker,
      runtime,
      async agent(nodeId, owns) {
        const agent = new EmulatedAgent({ nc, store, runtime, nodeId, owns, logger });
        cleanups.push(() => agent.stop());
        await agent.start();
        return agent;
      },
      async podEvent(podId, event) {
        const aggregateId = podAggregateId(tenantId, podId);
        const data = podEvents[event.type].parse(event.data);
        if (event.type === 'PodCreated') {
          const { spec, generation, volumeName } = event.data;
          pods.set(podId, { spec: PodSpec.parse(spec), generation, volumeName });
        }
        const { position } = await store.append('pods', aggregateId, [{ type: event.type, data, tenantId }], {
          expected: positions.get(aggregateId) ?? EMPTY_POSITION,
          meta: meta({ actor: systemActor('pods'), tenantId }),
          now: new Date(),
        });
        positions.set(aggregateId, position);
      },
      async replica(name) {
        const replica = spawnReplica(name, {
          AGENTPOD_NATS_URL: nats.url,
          AGENTPOD_DATABASE_URL: database.url,
          AGENTPOD_LOG_LEVEL: process.env.RECONCILER_TEST_LOG ?? 'warn',
          AGENTPOD_RECONCILE_INTERVAL_MS: String(options.intervalMs),
          AGENTPOD_RECONCILE_SHARDS: String(options.shards),
        });
        cleanups.push(async () => {
          if (replica.child.exitCode === null && replica.child.signalCode === null) replica.child.kill('SIGKILL');
          await replica.exited;
        });
        return replica;
      },
      stats: async () =>
        ReconcilerStats.parse(await request(nc, querySubject('reconciler', 'stats'), {}, meta(), { timeoutMs: 5_000 })),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function spawnReplica(name: string, env: Record<string, string>): Replica {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', MAIN], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    // The last lines are what explains a failure; a chatty replica must not grow this without bound.
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, child, exited, log: () => output };
}

/** Every container and volume of the run's tenant, whatever state the test left them in. */
async function removeTenantResources(docker: Docker, tenantId: string): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`agentpod.tenant=${tenantId}`] } });
  for (const c of containers)
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => {});
  const { Volumes } = await docker.listVolumes({ filters: { name: [`agentpod-${tenantId}_`] } });
  for (const v of Volumes ?? [])
    await docker
      .getVolume(v.Name)
      .remove()
      .catch(() => {});
}
