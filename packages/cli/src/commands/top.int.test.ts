import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TopRow } from '@agentpod/contracts';
import { useFakeGateway } from '../test/fake-gateway.ts';
import { formatTop } from './top.ts';

/* `agentpod top` against a stand-in gateway: what is asked, what is printed. */

const NODE = `nod_${'e'.repeat(24)}`;
const AT = '2026-01-01T00:00:00.000Z';
const row = (over: Partial<TopRow>): TopRow => ({
  kind: 'pod',
  nodeId: NODE,
  tenantId: 'acme',
  podId: 'web',
  at: AT,
  cpuPercent: 12.345,
  memoryBytes: 256 * 1024 * 1024,
  memoryLimitBytes: 1024 * 1024 * 1024,
  netRxBytesPerSec: 2048,
  netTxBytesPerSec: 0,
  ...over,
});
const rows = [
  row({ podId: 'idle', cpuPercent: 0.5, memoryLimitBytes: null }),
  row({}),
  row({ kind: 'node', tenantId: null, podId: null, cpuPercent: 40, memoryLimitBytes: 8 * 1024 ** 3 }),
];

describe('agentpod top', () => {
  const suite = useFakeGateway();
  const { cli } = suite;

  test('a table: nodes first, then pods, busiest first; memory against the limit', async () => {
    suite.gateway.on('GET /api/v1/top', () => ({ status: 200, body: { rows } }));
    const result = await cli('top', '--tenant', 'acme');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(suite.gateway.requests[0]?.query, { tenant: 'acme' });
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(/\s{2,}/));
    assert.deepEqual(
      lines.map((cells) => cells.slice(0, 7)),
      [
        ['KIND', 'NAME', 'NODE', 'CPU', 'MEMORY', 'NET RX', 'NET TX'],
        ['node', NODE, '-', '40.0%', '256Mi/8Gi (3%)', '2Ki/s', '0B/s'],
        ['pod', 'acme/web', NODE, '12.3%', '256Mi/1Gi (25%)', '2Ki/s', '0B/s'],
        ['pod', 'acme/idle', NODE, '0.5%', '256Mi/-', '2Ki/s', '0B/s'],
      ],
    );
  });

  test('--json prints the rows; a refused tenant exits 4', async () => {
    suite.gateway.on('GET /api/v1/top', () => ({ status: 200, body: { rows } }));
    const json = await cli('top', '--json');
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), { rows });
    suite.gateway.on('GET /api/v1/top', () => ({
      status: 404,
      body: { error: { code: 'not_found', message: 'tenant globex does not exist or you have no access to it' } },
    }));
    const refused = await cli('top', '--tenant', 'globex');
    assert.equal(refused.code, 4);
    assert.match(refused.stderr, /globex/);
  });

  test('nothing recent says so', () => {
    assert.match(formatTop([], new Date(AT)), /no recent samples/);
  });
});
