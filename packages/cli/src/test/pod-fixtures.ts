import { type AddNodeResult, type NodeView, PodSpec, type PodView } from '@agentpod/contracts';

/** Valid node and pod wire objects for the stand-in gateway (the CLI checks every answer against the contracts). */

export const NODE_ID = `nod_${'b2'.repeat(12)}`;

export const nodeView: NodeView = {
  id: NODE_ID,
  name: 'edge-1',
  tenantId: null,
  status: 'online',
  lastSeenAt: '2025-01-02T03:04:05.000Z',
  facts: {
    hostname: 'edge-1.example.net',
    os: 'Debian GNU/Linux 12',
    arch: 'x64',
    cpus: 4,
    memoryBytes: 4 * 1024 ** 3,
    diskBytes: 80 * 1024 ** 3,
    diskFreeBytes: 60 * 1024 ** 3,
    dockerVersion: '27.3.1',
    agentVersion: '0.1.0',
  },
  pods: 2,
  reservedMemoryBytes: 512 * 1024 ** 2,
  createdAt: '2025-01-01T00:00:00.000Z',
};

const JOIN_TOKEN = `apj_${'j'.repeat(43)}`;

export const addNodeResult: AddNodeResult = {
  node: { ...nodeView, status: 'pending', lastSeenAt: null, facts: null, pods: 0, reservedMemoryBytes: 0 },
  joinToken: JOIN_TOKEN,
  expiresAt: '2025-01-01T01:00:00.000Z',
  installCommand: `agentpod-agent join http://127.0.0.1:8080 ${JOIN_TOKEN}`,
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
  containerId: '0123456789abcdef',
  spec: PodSpec.parse({ image: 'nginx:1.27', ports: [{ containerPort: 8080 }] }),
  createdAt: '2025-01-02T03:04:05.000Z',
  startedAt: '2025-01-02T03:04:06.000Z',
  updatedAt: '2025-01-02T03:04:06.000Z',
};

export const ACCESS_TOKEN = `apa_${'t'.repeat(43)}`;
