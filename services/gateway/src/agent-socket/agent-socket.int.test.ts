import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AppError,
  agentSubjects,
  controlSubjects,
  EventEnvelope,
  eventSubject,
  MAX_AGENT_FRAME_BYTES,
  type NodeFacts,
  newId,
  type ObservedContainer,
  querySubject,
  systemActor,
} from '@agentpod/contracts';
import { createLogger, EventStore, ensureStreams, handler, request, serveRequests } from '@agentpod/kit';
import { startNatsServer, type TestNatsServer } from '@agentpod/kit/testing';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { buildApp } from '../app.ts';
import type { GatewayOptions } from '../options.ts';
import { defaultAgentSocketOptions } from './settings.ts';
import { FakeAgent, tryUpgrade } from './test-agent.ts';

const NODE_A = 'nod_aaaaaaaaaaaaaaaaaaaaaaaa';
const NODE_B = 'nod_bbbbbbbbbbbbbbbbbbbbbbbb';
const NODE_C = 'nod_cccccccccccccccccccccccc';
const credentialOf = (nodeId: string) => `apn_${nodeId.slice(4)}_${'s'.repeat(43)}`;

const facts: NodeFacts = {
  hostname: 'node-a',
  os: 'linux',
  arch: 'x64',
  cpus: 2,
  memoryBytes: 4 * 1024 ** 3,
  diskBytes: 100 * 1024 ** 3,
  diskFreeBytes: 50 * 1024 ** 3,
  dockerVersion: '27.0.0',
  agentVersion: '0.1.0',
};
const container: ObservedContainer = {
  id: 'c0ffee',
  name: 'agentpod-acme-web-1',
  tenantId: 'acme',
  podId: 'web',
  generation: 1,
  image: 'agentpod-test/node:1',
  imageId: 'sha256:1',
  state: 'running',
  pid: 42,
  exitCode: null,
  oomKilled: false,
  error: null,
  createdAt: '2026-01-01T00:00:00Z',
  startedAt: '2026-01-01T00:00:01Z',
  finishedAt: null,
  restartCount: 0,
  ports: [],
  health: null,
  volume: null,
  labels: {},
};
const meta = () => ({ actor: systemActor('reconciler'), correlationId: newId() });

/** Collects core NATS messages on a subject (here: events as the stream stores them, heartbeats, sessions). */
class Inbox {
  readonly messages: Msg[] = [];
  readonly #subscription: Subscription;
  #waiter: (() => void) | undefined;

  constructor(nc: NatsConnection, subject: string) {
    this.#subscription = nc.subscribe(subject, {
      callback: (error, msg) => {
        if (error) return;
        this.messages.push(msg);
        this.#waiter?.();
      },
    });
  }

  /** Waits until `count` messages have arrived. */
  async atLeast(count: number): Promise<Msg[]> {
    while (this.messages.length < count) {
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
      });
    }
    return this.messages;
  }

  /**
   * Waits until `count` distinct events have arrived. A re-sent observation is published again on the core
   * subject even though the stream stores it once, so events are counted by id.
   */
  async events(count: number): Promise<EventEnvelope[]> {
    for (;;) {
      const byId = new Map(this.messages.map((msg) => [EventEnvelope.parse(msg.json()).id, msg]));
      if (byId.size >= count) return [...byId.values()].map((msg) => EventEnvelope.parse(msg.json()));
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
      });
    }
  }

  stop(): void {
    this.#subscription.unsubscribe();
  }
}

const typesOf = (events: EventEnvelope[]) => events.map((event) => event.type);

describe('gateway: the agent socket relays a node to its own subjects and nothing else', () => {
  let nats: TestNatsServer;
  let nc: NatsConnection;
  let store: EventStore;
  /** The fake identity's credentials: credential → node id. */
  const credentials = new Map<string, string>();
  const services: Subscription[] = [];
  const gateways: FastifyInstance[] = [];
  const agents: FakeAgent[] = [];

  const startGateway = async (options: Partial<GatewayOptions> = {}) => {
    const app = buildApp({
      nc,
      logger: createLogger('gateway', 'silent'),
      options: { publicUrl: 'http://127.0.0.1:8080', ...options },
    });
    gateways.push(app);
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    return { app, url: `${address.replace(/^http/, 'ws')}/agent` };
  };
  const connectAgent = async (url: string, nodeId: string) => {
    const agent = await FakeAgent.connect(url, credentialOf(nodeId));
    agents.push(agent);
    return agent;
  };
  /** Revokes like identity does: the credential stops working, then every gateway is told. */
  const revoke = async (nodeId: string) => {
    credentials.delete(credentialOf(nodeId));
    nc.publish(controlSubjects.nodeRevoked, JSON.stringify({ nodeId }));
    await nc.flush();
  };
  /** A request to the node as the reconciler sends it; answers once the agent's reply (or an error) is back. */
  const ask = (nodeId: string, op: string, data: unknown = {}) =>
    request(nc, agentSubjects.command(nodeId, op), data, meta(), { timeoutMs: 10_000 });
  const events = async (nodeId: string) => (await store.read('agent', nodeId)).map((stored) => stored.envelope);

  let gateway: { app: FastifyInstance; url: string };

  before(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, ['agent']);
    store = new EventStore(jetstream(nc), jsm);
    for (const nodeId of [NODE_A, NODE_B, NODE_C]) credentials.set(credentialOf(nodeId), nodeId);
    services.push(
      serveRequests({
        nc,
        subject: querySubject('identity', 'authenticateNode'),
        queue: 'identity',
        logger: createLogger('fake-identity', 'silent'),
        handler: handler(z.object({ credential: z.string() }), async ({ credential }) => {
          const nodeId = credentials.get(credential);
          if (!nodeId) throw new AppError('unauthenticated', 'this node credential is not valid');
          return { nodeId };
        }),
      }),
    );
    await nc.flush();
    gateway = await startGateway({
      // Longer than any test: what drops a revoked socket here is the broadcast, not the periodic check.
      agentSocket: { ...defaultAgentSocketOptions(), reauthenticateMs: 3_600_000, instanceId: 'gateway-1' },
    });
  });

  after(async () => {
    for (const agent of agents) if (agent.open) await agent.close();
    for (const app of gateways) await app.close();
    for (const service of services) service.unsubscribe();
    await nc?.close();
    await nats?.stop();
  });

  test('refused before the upgrade: no or a wrong credential (401), a browser Origin (403), a plain GET', async () => {
    const unknown = await tryUpgrade(gateway.url, {
      authorization: `Bearer ${credentialOf('nod_zzzzzzzzzzzzzzzzzzzzzzzz')}`,
    });
    assert.equal(unknown.status, 401);
    assert.equal((unknown.body as { error: { code: string } }).error.code, 'unauthenticated');
    assert.equal((await tryUpgrade(gateway.url, {})).status, 401);
    assert.equal((await tryUpgrade(gateway.url, { authorization: 'Bearer aps_a_session_token_000000' })).status, 401);
    const browser = await tryUpgrade(gateway.url, {
      authorization: `Bearer ${credentialOf(NODE_A)}`,
      origin: 'https://evil.example',
    });
    assert.equal(browser.status, 403);
    const plain = await gateway.app.inject({ method: 'GET', url: '/agent' });
    assert.equal(plain.statusCode, 400);
    assert.equal((await tryUpgrade(gateway.url, { authorization: `Bearer ${credentialOf(NODE_A)}` })).status, 101);
  });

  test('a request on agent.<id>.cmd.<op> reaches the agent and its reply comes back as sent', async () => {
    const agent = await connectAgent(gateway.url, NODE_A);
    const answer = ask(NODE_A, 'facts');
    const req = await agent.next('req');
    assert.equal(req.op, 'facts');
    assert.deepEqual(JSON.parse(req.body).data, {});
    agent.send({ t: 'res', id: req.id, reply: JSON.stringify({ ok: true, result: facts }) });
    assert.deepEqual(await answer, facts);

    // An error reply travels the same way.
    const failing = ask(NODE_A, 'startContainer', { containerId: 'nope' });
    const second = await agent.next('req');
    agent.send({
      t: 'res',
      id: second.id,
      reply: JSON.stringify({ ok: false, error: { code: 'not_found', message: 'no such container' } }),
    });
    await assert.rejects(failing, (error: AppError) => error.code === 'not_found');
    await agent.close();
  });

  test('hello stores NodeConnected and InventoryReported as the node; obs is stored once per id; close stores NodeDisconnected', async () => {
    const stored = new Inbox(nc, eventSubject('agent', NODE_B));
    const agent = await connectAgent(gateway.url, NODE_B);
    agent.send({ t: 'hello', facts, containers: [container] });
    assert.deepEqual(typesOf(await stored.events(2)), ['NodeConnected', 'InventoryReported']);

    const observation = {
      t: 'obs',
      id: newId(),
      type: 'ContainerChanged',
      data: {
        action: 'die',
        containerId: 'c0ffee',
        tenantId: 'acme',
        podId: 'web',
        generation: 1,
        exitCode: 1,
        container: null,
      },
    };
    agent.send(observation);
    agent.send(observation);
    // Observation data that is not its event's shape is a bad frame, not an event.
    agent.send({ ...observation, id: newId(), data: { action: 'explode' } });
    agent.send({ t: 'obs', id: newId(), type: 'InventoryReported', data: { containers: [] } });
    await stored.events(4);
    await agent.close();
    await stored.events(5);
    stored.stop();

    const log = await events(NODE_B);
    assert.deepEqual(
      log.map((event) => event.type),
      ['NodeConnected', 'InventoryReported', 'ContainerChanged', 'InventoryReported', 'NodeDisconnected'],
    );
    assert.ok(log.every((event) => event.actor.kind === 'node' && event.actor.id === NODE_B));
    assert.deepEqual(
      log.map((event) => event.version),
      [1, 2, 3, 4, 5],
    );
    assert.deepEqual(log[0]?.data, { facts, gatewayInstance: 'gateway-1' });
    assert.deepEqual(log[1]?.data, { containers: [container] });
    assert.equal(log[2]?.id, observation.id);
    assert.match(String((log[4]?.data as { reason?: string } | undefined)?.reason), /agent closed/);
  });

  test("hb is a heartbeat on core NATS; pub lands only on the sending node's session subject", async () => {
    const everything = new Inbox(nc, 'agent.>');
    const agent = await connectAgent(gateway.url, NODE_C);
    agent.send({ t: 'hb', at: '1999-01-01T00:00:00Z' });
    agent.send({ t: 'pub', session: 'session-0001', data: '{"t":"line"}' });
    const [heartbeat, published] = await everything.atLeast(2);
    assert.equal(heartbeat?.subject, agentSubjects.heartbeat(NODE_C));
    // The gateway's clock, not the agent's.
    assert.notEqual(heartbeat?.json<{ at: string }>().at, '1999-01-01T00:00:00Z');
    assert.equal(published?.subject, agentSubjects.session(NODE_C, 'session-0001', 'out'));
    assert.equal(published?.string(), '{"t":"line"}');

    // Input for the node's sessions reaches it.
    nc.publish(agentSubjects.session(NODE_C, 'session-0001', 'in'), '{"t":"close"}');
    assert.deepEqual(await agent.next('session'), { t: 'session', session: 'session-0001', data: '{"t":"close"}' });
    everything.stop();
    await agent.close();
  });

  test('a node cannot reach another node: no foreign subject, session, request or reply', async () => {
    const a = await connectAgent(gateway.url, NODE_A);
    const b = await connectAgent(gateway.url, NODE_B);
    const seenOnNats = new Inbox(nc, 'agent.>');
    const seenByB: string[] = [];
    // Frames that try to name another node's subjects, or a subject at all: refused by shape, nothing published.
    a.send({
      t: 'pub',
      session: 'session-0001',
      data: 'x',
      subject: agentSubjects.session(NODE_B, 'session-0001', 'out'),
    });
    a.send({ t: 'pub', session: `${NODE_B}.session.session-0001`, data: 'x' });
    a.send({ t: 'pub', session: 'session-*', data: 'x' });
    a.send({ t: 'pub', session: 'session->', data: 'x' });
    a.send({ t: 'hb', at: 'now', nodeId: NODE_B });
    a.send({ t: 'obs', id: newId(), type: 'NodeConnected', data: { facts, gatewayInstance: 'x' } });

    // A request to B goes to B alone; A answering B's request id changes nothing.
    const answer = ask(NODE_B, 'inventory');
    const req = await b.next('req');
    a.send({ t: 'res', id: req.id, reply: JSON.stringify({ ok: true, result: { containers: [container] } }) });
    // B's session input reaches B only.
    nc.publish(agentSubjects.session(NODE_B, 'session-0002', 'in'), 'for b');
    seenByB.push((await b.next('session')).data);
    b.send({ t: 'res', id: req.id, reply: JSON.stringify({ ok: true, result: { containers: [] } }) });
    assert.deepEqual(await answer, { containers: [] });

    // Frames are handled in order: once A's heartbeat is on NATS, everything A sent before it has been handled.
    a.send({ t: 'hb', at: 'now' });
    while (!seenOnNats.messages.some((msg) => msg.subject === agentSubjects.heartbeat(NODE_A))) {
      await seenOnNats.atLeast(seenOnNats.messages.length + 1);
    }
    const messages = seenOnNats.messages;
    const fromA = messages.filter((msg) => msg.subject.startsWith(`agent.${NODE_A}.`));
    assert.deepEqual(
      fromA.map((msg) => msg.subject),
      [agentSubjects.heartbeat(NODE_A)],
    );
    assert.ok(!messages.some((msg) => msg.subject.includes('.session.') && msg.subject.endsWith('.out')));
    assert.deepEqual(seenByB, ['for b']);
    assert.deepEqual(a.received(), [], 'A received nothing meant for B');
    assert.deepEqual(await events(NODE_A), []);
    seenOnNats.stop();
    await a.close();
    await b.close();
  });

  test('malformed and oversized frames are dropped and the socket stays; 100 of them close it', async () => {
    const agent = await connectAgent(gateway.url, NODE_C);
    agent.send('not json');
    agent.send(new Uint8Array([1, 2, 3]));
    agent.send({ t: 'nope' });
    agent.send({ t: 'res' });
    agent.send(JSON.stringify({ t: 'pub', session: 'session-0001', data: 'x'.repeat(MAX_AGENT_FRAME_BYTES) }));
    const answer = ask(NODE_C, 'facts');
    const req = await agent.next('req');
    agent.send({ t: 'res', id: req.id, reply: JSON.stringify({ ok: true, result: facts }) });
    assert.deepEqual(await answer, facts);

    for (let i = 0; i < 95; i++) agent.send(`bad ${i}`);
    const bye = await agent.next('bye');
    assert.match(bye.reason, /malformed/);
    assert.equal((await agent.closed).code, 1008);
  });

  test('a revoked node is dropped at once (bye, 4001) and its next upgrade is refused', async () => {
    const agent = await connectAgent(gateway.url, NODE_C);
    // The request under way is answered at once rather than left to time out.
    const pending = assert.rejects(ask(NODE_C, 'facts'), (error: AppError) => error.code === 'unavailable');
    await agent.next('req');
    await revoke(NODE_C);
    assert.match((await agent.next('bye')).reason, /revoked/);
    assert.equal((await agent.closed).code, 4001);
    await pending;
    assert.equal((await tryUpgrade(gateway.url, { authorization: `Bearer ${credentialOf(NODE_C)}` })).status, 401);
    credentials.set(credentialOf(NODE_C), NODE_C);
  });

  test('a newer socket of a node replaces the older one', async () => {
    const first = await connectAgent(gateway.url, NODE_A);
    const second = await connectAgent(gateway.url, NODE_A);
    assert.match((await first.next('bye')).reason, /replaced/);
    assert.equal((await first.closed).code, 4000);
    const answer = ask(NODE_A, 'facts');
    const req = await second.next('req');
    second.send({ t: 'res', id: req.id, reply: JSON.stringify({ ok: true, result: facts }) });
    assert.deepEqual(await answer, facts);
    await second.close();
  });

  test("a replaced socket's disconnection never follows its successor's connection in the log", async () => {
    const replacing = await startGateway({
      agentSocket: { ...defaultAgentSocketOptions(), instanceId: 'gateway-replacing' },
    });
    const stored = new Inbox(nc, eventSubject('agent', NODE_B));
    const already = (await events(NODE_B)).length;
    const first = await connectAgent(replacing.url, NODE_B);
    first.send({ t: 'hello', facts, containers: [] });
    await stored.events(2);
    const second = await connectAgent(replacing.url, NODE_B);
    second.send({ t: 'hello', facts: { ...facts, hostname: 'second' }, containers: [] });
    await first.closed;
    await stored.events(4);
    // Stopping the gateway waits until every socket's events are stored (or skipped).
    await replacing.app.close();
    stored.stop();
    const log = (await events(NODE_B)).slice(already);
    const connected = log.filter((event) => event.type === 'NodeConnected');
    assert.equal(connected.length, 2);
    const secondId = connected[1]?.correlationId;
    const afterSecond = log.slice(log.indexOf(connected[1] as EventEnvelope));
    // After the second socket's NodeConnected, only its own events: the first socket's disconnection is either
    // before it or not recorded, so the log never calls a connected node disconnected.
    assert.ok(
      afterSecond.every((event) => event.correlationId === secondId),
      JSON.stringify(afterSecond),
    );
    assert.equal(afterSecond.at(-1)?.type, 'NodeDisconnected');
  });

  test('unanswered requests time out and their late replies are dropped', async () => {
    const quick = await startGateway({
      agentSocket: { ...defaultAgentSocketOptions(), requestTimeoutMs: 200, instanceId: 'gateway-quick' },
    });
    const agent = await connectAgent(quick.url, NODE_B);
    const answer = ask(NODE_B, 'facts');
    const req = await agent.next('req');
    await assert.rejects(answer, (error: AppError) => error.code === 'timeout');
    agent.send({ t: 'res', id: req.id, reply: JSON.stringify({ ok: true, result: facts }) });
    const next = ask(NODE_B, 'facts');
    const again = await agent.next('req');
    assert.notEqual(again.id, req.id);
    agent.send({ t: 'res', id: again.id, reply: JSON.stringify({ ok: true, result: facts }) });
    assert.deepEqual(await next, facts);
    await agent.close();
  });

  test('the credential is checked again while the socket is open', async () => {
    const checking = await startGateway({
      agentSocket: { ...defaultAgentSocketOptions(), reauthenticateMs: 100, instanceId: 'gateway-checking' },
    });
    const agent = await connectAgent(checking.url, NODE_B);
    // Invalid without a broadcast (say, revoked while this gateway was cut off from NATS).
    credentials.delete(credentialOf(NODE_B));
    try {
      assert.match((await agent.next('bye')).reason, /no longer valid/);
      assert.equal((await agent.closed).code, 4001);
    } finally {
      credentials.set(credentialOf(NODE_B), NODE_B);
    }
  });

  test('shutting the gateway down says bye to every agent and records their disconnection', async () => {
    const stopping = await startGateway({
      agentSocket: { ...defaultAgentSocketOptions(), instanceId: 'gateway-stopping' },
    });
    const stored = new Inbox(nc, eventSubject('agent', NODE_A));
    const agent = await connectAgent(stopping.url, NODE_A);
    agent.send({ t: 'hello', facts, containers: [] });
    await stored.events(2);
    await stopping.app.close();
    assert.match((await agent.next('bye')).reason, /shutting down/);
    assert.equal((await agent.closed).code, 1001);
    // close() waited for it: it is stored by the time the gateway has stopped.
    const last = (await events(NODE_A)).at(-1);
    stored.stop();
    assert.equal(last?.type, 'NodeDisconnected');
    assert.match(String((last?.data as { reason?: string } | undefined)?.reason), /shutting down/);
  });
});
