import { type AddNodeResult, type NodeView, PodSpec, type PodView } from '@agentpod/contracts';

/** Valid wire objects for the pods stand-in's answers (the gateway checks every reply against the route table). */

export const NODE_ID = `nod_${'a1'.repeat(12)}`;

export const nodeView: NodeView = {
  id: NODE_ID,
  name: 'edge-1',
  tenantId: null,
  status: 'online',
  lastSeenAt: '2025-01-02T03:04:05.000Z',
  facts: null,
  pods: 1,
  reservedMemoryBytes: 268_435_456,
  createdAt: '2025-01-01T00:00:00.000Z',
};

export const addNodeResult: AddNodeResult = {
  node: { ...nodeView, status: 'pending', lastSeenAt: null, pods: 0, reservedMemoryBytes: 0 },
  joinToken: `apj_${'j'.repeat(43)}`,
  expiresAt: '2025-01-01T01:00:00.000Z',
  installCommand: `agentpod-agent join http://127.0.0.1:8080 apj_${'j'.repeat(43)}`,
};

export const podView: PodView = {
  tenantId: 'acme',
  podId: 'web',
  nodeId: NODE_ID,
  nodeName: 'edge-1',
  generation: 1,
  desired: 'running',
  status: 'running',
  message: null,
  health: 'unknown',
  image: 'nginx:1.27',
  ports: [{ hostPort: 20001, containerPort: 8080, protocol: 'tcp', hostIp: '127.0.0.1' }],
  restarts: 0,
  containerId: 'c0ffee',
  spec: PodSpec.parse({ image: 'nginx:1.27', ports: [{ containerPort: 8080 }] }),
  createdAt: '2025-01-02T03:04:05.000Z',
  startedAt: '2025-01-02T03:04:06.000Z',
  updatedAt: '2025-01-02T03:04:06.000Z',
};
