import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DiscoverContainersResult } from '@agentpod/contracts';
import { formatDiscovered } from './migrate.ts';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const NODE = 'nod_aaaaaaaaaaaaaaaaaaaaaaaa';

describe('migrate discover output', () => {
  test('one row per container: node, short id, ports and mounts as docker run writes them, env names', () => {
    const result: DiscoverContainersResult = {
      containers: [
        {
          nodeId: NODE,
          nodeName: 'n1',
          id: 'abcdef0123456789'.repeat(4),
          name: 'legacy',
          image: 'nginx:1.27',
          state: 'running',
          createdAt: '2026-03-01T09:00:00.000Z',
          startedAt: '2026-03-01T10:00:00.000Z',
          ports: [{ containerPort: 80, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 8080 }],
          mounts: [
            { type: 'volume', source: 'data', destination: '/data', readOnly: false },
            { type: 'bind', source: '/srv/conf', destination: '/etc/conf', readOnly: true },
          ],
          envKeys: ['DB_PASSWORD', 'MODE'],
        },
      ],
      unreachable: [{ nodeId: NODE, nodeName: 'n2', error: 'node n2 is offline' }],
    };
    assert.equal(
      formatDiscovered(result, NOW),
      [
        'NODE  CONTAINER     NAME    IMAGE       STATE       PORTS            MOUNTS                              ENV',
        'n1    abcdef012345  legacy  nginx:1.27  running 2h  0.0.0.0:8080→80  data:/data, /srv/conf:/etc/conf:ro  DB_PASSWORD,MODE',
        'node n2 did not answer: node n2 is offline',
        '',
      ].join('\n'),
    );
  });

  test('nothing to adopt says so', () => {
    assert.equal(
      formatDiscovered({ containers: [], unreachable: [] }, NOW),
      'no containers running without AgentPod\n',
    );
  });
});
