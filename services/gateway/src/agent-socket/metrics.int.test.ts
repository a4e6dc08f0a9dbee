import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { after, before, describe, test } from 'node:test';
import {
  AppError,
  agentSubjects,
  METRICS_SAMPLES_PER_FRAME,
  MetricsMessage,
  type MetricsSample,
  querySubject,
} from '@agentpod/contracts';
import { createLogger, handler, serveRequests } from '@agentpod/kit';
import { startNatsServer, type TestNatsServer } from '@agentpod/kit/testing';
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { buildApp } from '../app.ts';
import { AgentConnection, type AgentSocket } from './connection.ts';
import { defaultAgentSocketOptions } from './settings.ts';
import { FakeAgent } from './test-agent.ts';

/*
 * `metrics` frames: published as a MetricsMessage on core NATS agent.<node>.metrics under the node id the
 * credential proved; a malformed one is dropped and counted like any bad frame.
 */

const NODE_A = 'nod_mmmmmmmmmmmmmmmmmmmmmmmm';
const NODE_B = 'nod_nnnnnnnnnnnnnnnnnnnnnnnn';
const credentialOf = (nodeId: string) => `apn_${nodeId.slice(4)}_${'s'.repeat(43)}`;

const sample = (second: number, cpu = 12.5): MetricsSample => ({
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString(),
  node: {
    cpu: { total: cpu, perCore: [cpu, cpu] },
    memory: { totalBytes: 4096, usedBytes: 1024, availableBytes: 3072, swapTotalBytes: 0, swapUsedBytes: 0 },
    load: [0.5, 0.4, 0.3],
    disks: [
      { mount: '/', device: '/dev/vda', totalBytes: 100, usedBytes: 50, readBytesPerSec: 1, writeBytesPerSec: 2 },
    ],
    network: [{ interface: 'eth0', rxBytesPerSec: 10, txBytesPerSec: 20 }],
  },
  containers: [
    {
      containerId: 'c0ffee',
      tenantId: 'acme',
      podId: 'web',
      cpuPercent: 150,
      memoryBytes: 2048,
      memoryLimitBytes: null,
      netRxBytesPerSec: 0,
      netTxBytesPerSec: 0,
      blockReadBytesPerSec: 0,
      blockWriteBytesPerSec: 0,
      restarts: 0,
    },
  ],
});

/** Every message on a subject, as it arrives. */
function collect(nc: NatsConnection, subject: string): { messages: Msg[]; subscription: Subscription } {
  const messages: Msg[] = [];
  const subscription = nc.subscribe(subject, {
    callback: (error, msg) => {
      if (!error) messages.push(msg);
    },
  });
  return { messages, subscription };
}

const until = async (what: string, check: () => boolean) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(check(), what);
};

/** Frames that are not a valid `metrics` frame, each for its own reason. */
const MALFORMED: [string, object][] = [
  ['a node id of its own', { t: 'metrics', samples: [sample(1)], nodeId: NODE_B }],
  ['no samples', { t: 'metrics', samples: [] }],
  [
    'too many samples',
    { t: 'metrics', samples: Array.from({ length: METRICS_SAMPLES_PER_FRAME + 1 }, (_, i) => sample(i)) },
  ],
  ['a negative rate', { t: 'metrics', samples: [{ ...sample(1), node: { ...sample(1).node, load: [-1, 0, 0] } }] }],
  ['a sample without its node', { t: 'metrics', samples: [{ at: sample(1).at, containers: [] }] }],
  ['a bad time', { t: 'metrics', samples: [{ ...sample(1), at: 'yesterday' }] }],
];

describe('gateway: metrics frames from agents', () => {
  let nats: TestNatsServer;
  let nc: NatsConnection;
  let app: FastifyInstance;
  let url: string;
  const agents: FakeAgent[] = [];
  let identity: Subscription;

  before(async () => {
    nats = await startNatsServer();
    nc = await connect({ servers: nats.url });
    identity = serveRequests({
      nc,
      subject: querySubject('identity', 'authenticateNode'),
      queue: 'identity',
      logger: createLogger('fake-identity', 'silent'),
      handler: handler(z.object({ credential: z.string() }), async ({ credential }) => {
        const nodeId = [NODE_A, NODE_B].find((node) => credentialOf(node) === credential);
        if (!nodeId) throw new AppError('unauthenticated', 'this node credential is not valid');
        return { nodeId };
      }),
    });
    await nc.flush();
    app = buildApp({
      nc,
      logger: createLogger('gateway', 'silent'),
      options: {
        publicUrl: 'http://127.0.0.1:8080',
        // Few enough that the test sees a malformed metrics frame counted: the limit'th bad frame closes the socket.
        agentSocket: { ...defaultAgentSocketOptions(), maxBadFrames: MALFORMED.length + 1 },
      },
    });
    url = `${(await app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws')}/agent`;
  });

  after(async () => {
    for (const agent of agents) if (agent.open) await agent.close();
    await app?.close();
    identity?.unsubscribe();
    await nc?.close();
    await nats?.stop();
  });

  test("a metrics frame becomes a MetricsMessage on agent.<node>.metrics with the socket's node id", async () => {
    const seen = collect(nc, 'agent.*.metrics');
    const agent = await FakeAgent.connect(url, credentialOf(NODE_A));
    agents.push(agent);
    agent.send({ t: 'metrics', samples: [sample(1), sample(2, 99)] });
    await until('the metrics message arrived', () => seen.messages.length === 1);
    const [msg] = seen.messages;
    assert.equal(msg?.subject, agentSubjects.metrics(NODE_A));
    const message = MetricsMessage.parse(msg?.json());
    assert.deepEqual(message, { nodeId: NODE_A, samples: [sample(1), sample(2, 99)] });
    seen.subscription.unsubscribe();
    await agent.close();
  });

  test('malformed metrics frames are dropped (nothing published, the socket stays) and counted', async () => {
    const seen = collect(nc, 'agent.>');
    const agent = await FakeAgent.connect(url, credentialOf(NODE_B));
    agents.push(agent);
    for (const [, frame] of MALFORMED) agent.send(frame);
    // Frames are handled in order: once this heartbeat is out, every frame before it was handled.
    agent.send({ t: 'hb', at: 'now' });
    await until('the heartbeat arrived', () => seen.messages.length > 0);
    assert.deepEqual(
      seen.messages.map((msg) => msg.subject),
      [agentSubjects.heartbeat(NODE_B)],
      'no metrics published, under any node',
    );
    assert.ok(agent.open, 'the socket stays');
    // Each was counted: one more bad frame reaches the limit.
    agent.send({ t: 'metrics', samples: 'many' });
    assert.match(
      (await agent.next('bye')).reason,
      new RegExp(`too many malformed frames \\(${MALFORMED.length + 1}\\)`),
    );
    assert.equal((await agent.closed).code, 1008);
    seen.subscription.unsubscribe();
  });

  test("the socket's counters: metrics frames and the rounds they carried, bad frames apart", async () => {
    const socket = Object.assign(new EventEmitter(), {
      readyState: 1,
      bufferedAmount: 0,
      send: () => {},
      close: () => {},
      terminate: () => {},
    }) as unknown as AgentSocket & EventEmitter;
    const seen = collect(nc, agentSubjects.metrics(NODE_A));
    const connection = new AgentConnection(
      {
        nc,
        logger: createLogger('gateway', 'silent'),
        options: defaultAgentSocketOptions(),
        clock: () => new Date(),
        openStore: () => Promise.reject(new Error('no store in this test')),
        authenticate: async () => NODE_A,
        onEnd: () => {},
      },
      socket,
      NODE_A,
      credentialOf(NODE_A),
    );
    connection.start();
    const frame = (value: unknown) => socket.emit('message', Buffer.from(JSON.stringify(value)), false);
    frame({ t: 'metrics', samples: [sample(1)] });
    frame({ t: 'metrics', samples: [sample(2), sample(3), sample(4)] });
    for (const [, bad] of MALFORMED) frame(bad);
    await nc.flush();
    await until('both messages arrived', () => seen.messages.length === 2);
    assert.equal(connection.counts.metricsFrames, 2);
    assert.equal(connection.counts.metricsSamples, 4);
    assert.equal(connection.counts.badFrames, MALFORMED.length);
    connection.end('test over', undefined);
    seen.subscription.unsubscribe();
  });
});
