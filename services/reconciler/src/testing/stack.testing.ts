import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
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
  type RequestMeta,
  systemActor,
  volumeName,
} from '@agentpod/contracts';
import {
  type AggregatePosition,
  createLogger,
  EMPTY_POSITION,
  EventStore,
  handler,
  type RunningService,
  request,
  runService,
  serveRequests,
} from '@agentpod/kit';
import { createTestDatabase, startNatsServer, type TestDatabase, type TestNatsServer } from '@agentpod/kit/testing';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import Docker from 'dockerode';
// Test-only: the agent's real Docker runtime, by path (the agent package exports no runtime for services to use).
import { DockerRuntime } from '../../../../agent/src/runtime/index.ts';
import type { ReconcilerDb } from '../db.ts';
import type { ReconcilerEnv } from '../env.ts';
import { reconcilerService } from '../index.ts';
import { EmulatedAgent, type Owns } from './emulated-agent.testing.ts';

/*
 * The reconciler on a private nats-server and a fresh database, with real Docker behind emulated agents, and a
 * stand-in for the pods service: the test appends pod events to PODS itself and answers pods.qry.containerSpec
 * from the specs it appended. Every container and volume belongs to one tenant made up for this run.
 */

export const INTERVAL_MS = 500;
/** A short crash backoff, so a crash loop shows its growing gaps within seconds: 200 ms doubling to 3.2 s. */
export const BACKOFF_BASE_MS = 200;
export const BACKOFF_CAP_MS = 3_200;
const RUN_LABEL = 'agentpod-test.run';

type PodEvent = EventOf<typeof podEvents>;
type PodRecord = { spec: PodSpec; generation: number; volumeName: string | null; hostPorts: number[] };

export type Stack = {
  tenantId: string;
  nc: NatsConnection;
  store: EventStore;
  docker: Docker;
  runtime: DockerRuntime;
  service: RunningService<ReconcilerDb, ReconcilerEnv>;
  /** Who asked pods.qry.containerSpec. */
  specCallers: RequestMeta['actor'][];
  agent(nodeId: string, owns: Owns): Promise<EmulatedAgent>;
  /** Appends a pod event to PODS as the pods service would, keeping the spec for the containerSpec stand-in. */
  podEvent(podId: string, event: PodEvent): Promise<void>;
  call<T>(subject: string, data: unknown, meta?: Partial<RequestMeta>): Promise<T>;
  /** Events of the pod's RECONCILER aggregate. */
  outcomes(podId: string): Promise<{ type: string; data: Record<string, unknown> }[]>;
  stop(): Promise<void>;
};

export const nodeIdFor = (run: string, letter: string): string => `nod_${run}${letter.repeat(24 - run.length)}`;

export async function startStack(): Promise<Stack> {
  const run = randomBytes(3).toString('hex');
  const tenantId = `rc${run}`;
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    const docker = new Docker();
    const runtime = new DockerRuntime(docker, { pull: 'never' });
    cleanups.push(() => removeTenantResources(docker, tenantId));
    const nats: TestNatsServer = await startNatsServer();
    cleanups.push(() => nats.stop());
    const db: TestDatabase = await createTestDatabase('agentpod_reconciler');
    cleanups.push(() => db.drop());
    const nc = await connect({ servers: nats.url });
    cleanups.push(() => nc.close());
    const store = new EventStore(jetstream(nc), await jetstreamManager(nc));
    const logger = createLogger('stand-in', 'silent');

    const pods = new Map<string, PodRecord>();
    const specCallers: RequestMeta['actor'][] = [];
    const responder = serveRequests({
      nc,
      subject: querySubject('pods', 'containerSpec'),
      queue: 'pods',
      logger,
      handler: handler(PodQueries.containerSpec, async ({ tenantId: t, podId, generation }, meta) => {
        specCallers.push(meta.actor);
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
          // Published on 127.0.0.1, where the agent probes; the health check's port resolved as the pods service does.
          ports: pod.spec.ports.map((port, i) => ({
            containerPort: port.containerPort,
            protocol: port.protocol,
            hostPort: pod.hostPorts[i] ?? 0,
            hostIp: '127.0.0.1' as const,
          })),
          ...(pod.spec.health
            ? {
                health: {
                  ...pod.spec.health,
                  port: pod.spec.health.port ?? pod.spec.ports.find((p) => p.protocol === 'tcp')?.containerPort,
                },
              }
            : {}),
          ...(pod.spec.cmd ? { cmd: pod.spec.cmd } : {}),
          ...(pod.volumeName && pod.spec.volume
            ? { volume: { name: pod.volumeName, mountPath: pod.spec.volume.mountPath } }
            : {}),
        };
        return spec;
      }),
    });
    cleanups.push(async () => responder.unsubscribe());

    const service = await runService(reconcilerService, {
      env: {
        AGENTPOD_NATS_URL: nats.url,
        AGENTPOD_DATABASE_URL: db.url,
        AGENTPOD_LOG_LEVEL: process.env.RECONCILER_TEST_LOG ?? 'warn',
        AGENTPOD_RECONCILE_INTERVAL_MS: String(INTERVAL_MS),
        AGENTPOD_RECONCILE_BACKOFF_BASE_MS: String(BACKOFF_BASE_MS),
        AGENTPOD_RECONCILE_BACKOFF_CAP_MS: String(BACKOFF_CAP_MS),
      },
    });
    cleanups.push(() => service.stop());

    const positions = new Map<string, AggregatePosition>();
    const meta = (extra: Partial<RequestMeta> = {}): RequestMeta => ({
      actor: systemActor('test'),
      correlationId: newId(),
      ...extra,
    });
    return {
      tenantId,
      nc,
      store,
      docker,
      runtime,
      service,
      specCallers,
      async agent(nodeId, owns) {
        const agent = new EmulatedAgent({ nc, store, runtime, nodeId, owns, logger });
        cleanups.push(() => agent.stop());
        await agent.start();
        return agent;
      },
      async podEvent(podId, event) {
        const aggregateId = podAggregateId(tenantId, podId);
        const data = podEvents[event.type].parse(event.data);
        if (event.type === 'PodCreated' || event.type === 'PodUpdated') {
          const { generation } = event.data;
          const spec = PodSpec.parse(event.data.spec);
          const volume = event.type === 'PodCreated' ? event.data.volumeName : (pods.get(podId)?.volumeName ?? null);
          const hostPorts = await Promise.all(spec.ports.map(() => freePort()));
          pods.set(podId, { spec, generation, volumeName: volume, hostPorts });
        }
        const { position } = await store.append('pods', aggregateId, [{ type: event.type, data, tenantId }], {
          expected: positions.get(aggregateId) ?? EMPTY_POSITION,
          meta: meta({ actor: systemActor('pods'), tenantId }),
          now: new Date(),
        });
        positions.set(aggregateId, position);
      },
      call: (subject, data, extra) => request(nc, subject, data, meta(extra), { timeoutMs: 10_000 }),
      async outcomes(podId) {
        const events = await store.read('reconciler', podAggregateId(tenantId, podId));
        return events.map(({ envelope }) => ({ type: envelope.type, data: envelope.data as Record<string, unknown> }));
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
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

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export const podVolume = (tenantId: string, podId: string): string => volumeName(tenantId, podId);

/** Polls `check` until it returns something other than undefined/false; fails after `timeoutMs` naming `what`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
