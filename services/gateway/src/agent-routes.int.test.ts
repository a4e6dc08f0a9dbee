import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AppError, BOOTSTRAP_HEADER, commandSubject } from '@agentpod/contracts';
import { type FakeWorld, startFakeWorld } from './test-support/fake-services.ts';

const PUBLIC_URL = 'https://agentpod.example.test';
const NODE = 'nod_localnode00000000000000';
const JOIN_TOKEN = `apj_localnode00000000000000_${'t'.repeat(43)}`;
const CREDENTIAL = `apn_localnode00000000000000_${'c'.repeat(43)}`;
const SECRET = 'the-bootstrap-secret-0123456789';

const addNodeResult = {
  node: {
    id: NODE,
    name: 'local',
    tenantId: null,
    status: 'pending',
    lastSeenAt: null,
    facts: null,
    pods: 0,
    reservedMemoryBytes: 0,
    createdAt: '2026-01-01T00:00:00.000Z',
  },
  joinToken: JOIN_TOKEN,
  expiresAt: '2026-01-01T01:00:00.000Z',
  installCommand: `agentpod-agent join ${PUBLIC_URL} ${JOIN_TOKEN}`,
};

describe('agent routes: joining, and the local node of npm start', () => {
  let world: FakeWorld;
  before(async () => {
    world = await startFakeWorld({ publicUrl: PUBLIC_URL, bootstrapSecret: SECRET });
    let used = false;
    await world.answer(commandSubject('identity', 'redeemNodeJoinToken'), (data) => {
      if ((data as { token: string }).token !== JOIN_TOKEN || used) {
        throw new AppError('unauthenticated', 'this join token is not valid; ask for a new one');
      }
      used = true;
      return { nodeId: NODE, credential: CREDENTIAL };
    });
    await world.answer(commandSubject('pods', 'addNode'), () => addNodeResult);
  });
  after(() => world?.close());

  const join = (token: string) => world.app.inject({ method: 'POST', url: '/api/v1/agent/join', payload: { token } });
  const localNode = (headers: Record<string, string>) =>
    world.app.inject({ method: 'POST', url: '/api/v1/admin/local-node', headers });

  test('join: the token for the credential and the URL to dial, once; as the gateway, without a principal', async () => {
    const joined = await join(JOIN_TOKEN);
    assert.equal(joined.statusCode, 200, joined.body);
    assert.deepEqual(joined.json(), { nodeId: NODE, credential: CREDENTIAL, gatewayUrl: PUBLIC_URL });
    const asked = world.received.findLast((r) => r.subject === commandSubject('identity', 'redeemNodeJoinToken'));
    assert.deepEqual(asked?.meta.actor, { kind: 'system', id: 'gateway' });
    assert.equal(asked?.meta.principal, undefined);
    const again = await join(JOIN_TOKEN);
    assert.equal(again.statusCode, 401);
    assert.equal(again.json().error.code, 'unauthenticated');
    assert.equal((await join('short')).statusCode, 400);
  });

  test('local node: only with the bootstrap secret; asks pods to add or reuse `local` as the platform', async () => {
    const before = world.received.length;
    assert.equal((await localNode({})).statusCode, 401);
    assert.equal((await localNode({ [BOOTSTRAP_HEADER]: 'wrong' })).statusCode, 401);
    assert.equal(world.received.length, before, 'a refused request reaches no service');
    const added = await localNode({ [BOOTSTRAP_HEADER]: SECRET });
    assert.equal(added.statusCode, 200, added.body);
    assert.deepEqual(added.json(), addNodeResult);
    const asked = world.received.at(-1);
    assert.equal(asked?.subject, commandSubject('pods', 'addNode'));
    assert.deepEqual(asked?.data, { name: 'local', reuse: true });
    assert.deepEqual(asked?.meta.actor, { kind: 'system', id: 'gateway' });
    assert.equal(asked?.meta.principal, undefined);
  });

  test('local node: refused by a gateway started without a bootstrap secret', async () => {
    const app = world.gateway({ bootstrapSecret: undefined });
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/admin/local-node',
      headers: { [BOOTSTRAP_HEADER]: SECRET },
    });
    assert.equal(response.statusCode, 503);
  });
});
