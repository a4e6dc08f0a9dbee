import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AppError,
  agentSubjects,
  commandSubject,
  type EventOf,
  type EventSchemas,
  NodeCredentialCommands,
  type NodeFacts,
  newId,
  type Principal,
  type RequestMeta,
  streamName,
  systemActor,
} from '@agentpod/contracts';
import {
  createLogger,
  EventStore,
  handler,
  type RunningService,
  request,
  runService,
  serveRequests,
} from '@agentpod/kit';
import { createTestDatabase, startNatsServer, type TestDatabase, type TestNatsServer } from '@agentpod/kit/testing';
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { PodsDb } from '../db.ts';
import type { PodsEnv } from '../env.ts';
import { podsService } from '../index.ts';

/*
 * The pods service on a private nats-server and a fresh database. Identity is not running: a stand-in answers
 * identity.cmd.issueNodeJoinToken and identity.cmd.revokeNode as a real NATS peer, recording who asked. Tenants
 * and agents are not running either: their events are appended to TENANTS and AGENT as those services would,
 * and a node's heartbeats are published on core NATS as the gateway would.
 */

export const PUBLIC_URL = 'https://agentpod.example';

export const person = (name: string, extra: Partial<Principal> = {}): Principal => ({
  userId: `usr_${name.padEnd(20, '0')}`,
  email: `${name}@example.com`,
  platformAdmin: false,
  via: 'session',
  ...extra,
});

/** A caller: a person, a service by name, or a node (what the gateway appends for an agent). */
export type Caller = Principal | { service: string } | { node: string };

function metaFor(as: Caller): RequestMeta {
  if ('service' in as) return { actor: systemActor(as.service), correlationId: newId() };
  if ('node' in as) return { actor: { kind: 'node', id: as.node }, correlationId: newId() };
  const actor =
    as.via === 'token' ? { kind: 'token' as const, id: as.tokenId ?? 'tok' } : { kind: 'user' as const, id: as.userId };
  return { actor, correlationId: newId(), principal: as };
}

export type IdentityCall = { subject: string; data: unknown; meta: RequestMeta };

export type Stack = {
  nats: TestNatsServer;
  db: TestDatabase;
  stateDir: string;
  pods: RunningService<PodsDb, PodsEnv>;
  nc: NatsConnection;
  jsm: JetStreamManager;
  store: EventStore;
  identityCalls: IdentityCall[];
  call<T = unknown>(subject: string, data: unknown, as: Caller, meta?: Partial<RequestMeta>): Promise<T>;
  /** Resolves with the error the call is refused with; fails when it succeeds. */
  refused(subject: string, data: unknown, as: Caller): Promise<AppError>;
  /** Appends events as another service (tenants, the gateway for an agent) would. */
  append<ES extends EventSchemas>(
    context: 'tenants' | 'agent' | 'reconciler',
    aggregateId: string,
    events: EventOf<ES>[],
    actor?: Caller,
  ): Promise<void>;
  /** The node's agent connects (NodeConnected with these facts) and heartbeats until the stack stops. */
  connectNode(nodeId: string, facts?: Partial<NodeFacts>): Promise<void>;
  stopHeartbeats(nodeId: string): void;
  /** Another instance of the service on the same NATS and database (a replica sharing the queue group). */
  startReplica(): Promise<RunningService<PodsDb, PodsEnv>>;
  /** Waits until the service's read models hold everything the streams hold now. */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
};

export const facts = (extra: Partial<NodeFacts> = {}): NodeFacts => ({
  hostname: 'host',
  os: 'linux',
  arch: 'x64',
  cpus: 8,
  memoryBytes: 64 * 1024 ** 3,
  diskBytes: 1e12,
  diskFreeBytes: 5e11,
  dockerVersion: '27.0.0',
  agentVersion: '0.1.0',
  ...extra,
});

export async function startStack(env: Record<string, string> = {}): Promise<Stack> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const heartbeats = new Map<string, NodeJS.Timeout>();
  const stop = async () => {
    for (const timer of heartbeats.values()) clearInterval(timer);
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    const nats = await startNatsServer();
    cleanups.push(() => nats.stop());
    const db = await createTestDatabase('agentpod_pods');
    cleanups.push(() => db.drop());
    const stateDir = await mkdtemp(join(tmpdir(), 'agentpod-pods-state-'));
    cleanups.push(() => rm(stateDir, { recursive: true, force: true }));
    const nc = await connect({ servers: nats.url });
    cleanups.push(() => nc.close());

    const identityCalls: IdentityCall[] = [];
    const logger = createLogger('stand-in', 'silent');
    const standIns = [
      serveRequests({
        nc,
        subject: commandSubject('identity', 'issueNodeJoinToken'),
        queue: 'identity',
        logger,
        handler: handler(NodeCredentialCommands.issueNodeJoinToken, async (data, meta) => {
          identityCalls.push({ subject: 'issueNodeJoinToken', data, meta });
          return { token: `apj_${newId().replaceAll('-', '')}`, expiresAt: '2030-01-01T00:00:00.000Z' };
        }),
      }),
      serveRequests({
        nc,
        subject: commandSubject('identity', 'revokeNode'),
        queue: 'identity',
        logger,
        handler: handler(NodeCredentialCommands.revokeNode, async (data, meta) => {
          identityCalls.push({ subject: 'revokeNode', data, meta });
          return {};
        }),
      }),
    ];
    cleanups.push(async () => {
      for (const subscription of standIns) subscription.unsubscribe();
    });

    const serviceEnv = {
      AGENTPOD_NATS_URL: nats.url,
      AGENTPOD_DATABASE_URL: db.url,
      AGENTPOD_LOG_LEVEL: 'warn',
      AGENTPOD_PUBLIC_URL: PUBLIC_URL,
      AGENTPOD_STATE_DIR: stateDir,
      ...env,
    };
    const pods = await runService(podsService, { env: serviceEnv });
    cleanups.push(() => pods.stop());
    const jsm = await jetstreamManager(nc);
    const store = new EventStore(jetstream(nc), jsm);

    const call = <T>(subject: string, data: unknown, as: Caller, meta: Partial<RequestMeta> = {}) =>
      request<T>(nc, subject, data, { ...metaFor(as), ...meta }, { timeoutMs: 30_000 });
    const lastSeq = async (context: 'pods' | 'agent' | 'reconciler' | 'tenants') =>
      (await jsm.streams.info(streamName(context))).state.last_seq;

    const stack: Stack = {
      nats,
      db,
      stateDir,
      pods,
      nc,
      jsm,
      store,
      identityCalls,
      call,
      async refused(subject, data, as) {
        try {
          await call(subject, data, as);
        } catch (error) {
          if (error instanceof AppError) return error;
          throw error;
        }
        throw new Error(`${subject} succeeded; it should have been refused`);
      },
      async append(context, aggregateId, events, actor = { service: context }) {
        const before = await store.read(context, aggregateId);
        const expected = { version: before.length, seq: before.at(-1)?.seq ?? 0 };
        await store.append(context, aggregateId, events, { expected, meta: metaFor(actor), now: new Date() });
      },
      async connectNode(nodeId, extra = {}) {
        await stack.append(
          'agent',
          nodeId,
          [{ type: 'NodeConnected', data: { facts: facts(extra), gatewayInstance: 'test' } }],
          { node: nodeId },
        );
        const beat = () =>
          nc.publish(agentSubjects.heartbeat(nodeId), JSON.stringify({ at: new Date().toISOString() }));
        beat();
        heartbeats.set(nodeId, setInterval(beat, 1_000));
      },
      stopHeartbeats(nodeId) {
        clearInterval(heartbeats.get(nodeId));
        heartbeats.delete(nodeId);
      },
      async startReplica() {
        const replica = await runService(podsService, { env: serviceEnv });
        cleanups.push(() => replica.stop());
        return replica;
      },
      async caughtUp() {
        for (const context of ['pods', 'agent', 'reconciler', 'tenants'] as const) {
          await pods.runtime.caughtUp(context, await lastSeq(context), 15_000);
        }
      },
      stop,
    };
    return stack;
  } catch (error) {
    await stop();
    throw error;
  }
}
