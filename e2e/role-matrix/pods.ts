import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AddNodeResult,
  AgentOps,
  agentSubjects,
  containerName,
  type ObservedContainer,
} from '@agentpod/contracts';
import { createLogger, EventStore, handler, serveRequests } from '@agentpod/kit';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Matrix } from './fixtures.ts';

/*
 * Nodes and pods for the matrix's node and pod routes. No agent runs in the matrix, so its nodes never join:
 * they stay pending and report no memory, which leaves placement on a named node unlimited. The one pod that
 * reads and changes act on (acme/shared) gets what an agent would give it: an observed container (an inventory
 * in the AGENT stream, as the gateway records it for a node) and a stand-in answering the node's `logs` op.
 */

const MiB = 1024 * 1024;
const IMAGE = 'agentpod-test/busybox:1';
export const SHARED_POD = 'shared';

export type PodWorld = {
  /** A platform-pool node the matrix's pods are placed on. */
  poolNode(): Promise<AddNodeResult>;
  /** A node owned by acme, for reads and join tokens. */
  acmeNode(): Promise<AddNodeResult>;
  /** A new node owned by acme (to remove). */
  freshAcmeNode(): Promise<AddNodeResult>;
  /** A one-time join token of a new pool node. */
  joinToken(): Promise<string>;
  /** acme/shared, with a container and an agent that answers for its logs; returns its pod id. */
  sharedPod(): Promise<string>;
  /** A new pod of acme (to delete); returns its pod id. */
  freshPod(): Promise<string>;
  /** A pod body for `POST /tenants/acme/pods` that fits the matrix's node. */
  podBody(podId: string): Promise<unknown>;
};

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= make();
    return made;
  };
}

export function podWorld(m: Matrix): PodWorld {
  const addNode = (url: string) =>
    m.world.must<AddNodeResult>(201, { method: 'POST', url, as: m.root, body: { name: m.unique('node') } });
  const poolNode = once(() => addNode('/api/v1/nodes'));
  const podBody = async (podId: string) => ({
    podId,
    spec: { image: IMAGE, limits: { memoryBytes: 16 * MiB } },
    node: (await poolNode()).node.name,
  });
  const createPod = async (podId: string) => {
    await m.world.must(201, {
      method: 'POST',
      url: '/api/v1/tenants/acme/pods',
      as: m.root,
      body: await podBody(podId),
    });
    return podId;
  };

  const sharedPod = once(async () => {
    const { node } = await poolNode();
    await createPod(SHARED_POD);
    await observeContainer(m, node.id, SHARED_POD);
    serveRequests({
      nc: m.world.nc,
      subject: agentSubjects.command(node.id, 'logs'),
      queue: 'agent',
      logger: createLogger('matrix-agent', 'silent'),
      handler: handler(AgentOps.logs.input, async () => ({
        lines: [{ stream: 'stdout' as const, time: new Date().toISOString(), text: 'hello from the matrix' }],
      })),
    });
    // The pods service learns of the container through its AGENT projection: wait until it answers for the logs.
    for (let attempt = 0; ; attempt++) {
      const response = await m.world.call({
        method: 'GET',
        url: `/api/v1/tenants/acme/pods/${SHARED_POD}/logs`,
        as: m.root,
      });
      if (response.statusCode === 200) break;
      if (attempt >= 200) throw new Error(`the shared pod's logs never became readable: ${response.body}`);
      await sleep(50);
    }
    return SHARED_POD;
  });

  return {
    poolNode,
    acmeNode: once(() => addNode('/api/v1/tenants/acme/nodes')),
    freshAcmeNode: () => addNode('/api/v1/tenants/acme/nodes'),
    joinToken: async () => (await addNode('/api/v1/nodes')).joinToken,
    sharedPod,
    freshPod: () => createPod(m.unique('doomed-pod')),
    podBody,
  };
}

/** Records, as the gateway does for a connected agent, that the node runs the pod's first container. */
async function observeContainer(m: Matrix, nodeId: string, podId: string): Promise<void> {
  const now = new Date();
  const container: ObservedContainer = {
    id: `matrix${'0'.repeat(58)}`,
    name: containerName('acme', podId, 1),
    tenantId: 'acme',
    podId,
    generation: 1,
    image: IMAGE,
    imageId: `sha256:${'0'.repeat(64)}`,
    state: 'running',
    pid: 4242,
    exitCode: null,
    oomKilled: false,
    error: null,
    createdAt: now.toISOString(),
    startedAt: now.toISOString(),
    finishedAt: null,
    restartCount: 0,
    ports: [],
    health: null,
    volume: null,
    labels: {},
  };
  const store = new EventStore(jetstream(m.world.nc), await jetstreamManager(m.world.nc));
  await store.append('agent', nodeId, [{ type: 'InventoryReported', data: { containers: [container] } }], {
    expected: { version: 0, seq: await store.lastSequence('agent', nodeId) },
    meta: { actor: { kind: 'node', id: nodeId }, correlationId: 'role-matrix' },
    now,
  });
}
