import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type AddNodeResult,
  type CreatePodResult,
  commandSubject,
  type ObservedContainer,
  querySubject,
  volumeName,
} from '@agentpod/contracts';
import type { z } from 'zod';
import { person, type Stack, startStack } from '../testing/stack.ts';

/*
 * pods.qry.podWorkspace and pods.qry.nodeWorkspace: who may open a pod's or a node's terminal and files, and where
 * they are (the node, the running container of the current generation, the volume).
 */

const cmd = (name: string) => commandSubject('pods', name);
const qry = (name: string) => querySubject('pods', name);

const admin = person('wsadmin', { platformAdmin: true });
const owner = person('wsowner');
const member = person('wsmember');
const viewer = person('wsviewer');
const stranger = person('wsstranger');
const memberToken = { ...member, via: 'token' as const, tokenId: 'tok_m', tokenRole: 'viewer' as const };
const ownerToken = { ...owner, via: 'token' as const, tokenId: 'tok_o', tokenRole: 'owner' as const };

type Workspace = { nodeId: string; containerId: string | null; volume: string | null };

describe('pods workspace queries: where a terminal or file session goes, and who may open one', () => {
  let stack: Stack;
  let pool = '';
  let own = '';

  before(async () => {
    stack = await startStack({ AGENTPOD_PORT_RANGE: '20100-20119' });
    const added = (who: typeof owner, role: string) => ({
      type: 'MemberAdded',
      data: { userId: who.userId, email: who.email, role },
    });
    await stack.append('tenants', 'acme', [
      { type: 'TenantCreated', data: { tenantId: 'acme', name: 'Acme', ownerId: owner.userId } },
      added(owner, 'owner'),
      added(member, 'member'),
      added(viewer, 'viewer'),
    ]);
    await stack.append('tenants', 'beta', [
      { type: 'TenantCreated', data: { tenantId: 'beta', name: 'Beta', ownerId: stranger.userId } },
      added(stranger, 'owner'),
    ]);
    pool = (await stack.call<AddNodeResult>(cmd('addNode'), { name: 'ws-pool' }, admin)).node.id;
    own = (await stack.call<AddNodeResult>(cmd('addNode'), { name: 'ws-own', tenantId: 'acme' }, owner)).node.id;
    await stack.connectNode(pool);
    await stack.caughtUp();
  });
  after(async () => {
    await stack?.stop();
  });

  const podWorkspace = (podId: string, as: Parameters<Stack['call']>[2]) =>
    stack.call<Workspace>(qry('podWorkspace'), { tenantId: 'acme', podId }, as);

  test('a member gets the node, the volume, and the container once it runs', async () => {
    await stack.call<z.infer<typeof CreatePodResult>>(
      cmd('createPod'),
      { tenantId: 'acme', podId: 'shell', spec: { image: 'agentpod-test/node:1', volume: { mountPath: '/data' } } },
      member,
    );
    await stack.caughtUp();
    assert.deepEqual(await podWorkspace('shell', member), {
      nodeId: pool,
      containerId: null,
      volume: volumeName('acme', 'shell'),
    });

    const container = (state: ObservedContainer['state']): ObservedContainer => ({
      id: 'c-shell-1',
      name: 'agentpod-acme_shell-g1',
      tenantId: 'acme',
      podId: 'shell',
      generation: 1,
      image: 'agentpod-test/node:1',
      imageId: 'sha256:abc',
      state,
      pid: state === 'running' ? 4242 : null,
      exitCode: state === 'exited' ? 0 : null,
      oomKilled: false,
      error: null,
      createdAt: new Date().toISOString(),
      startedAt: new Date().toISOString(),
      finishedAt: null,
      restartCount: 0,
      ports: [],
      health: null,
      volume: null,
      labels: {},
    });
    const changed = (action: 'start' | 'die', state: ObservedContainer['state']) => ({
      type: 'ContainerChanged',
      data: {
        action,
        containerId: 'c-shell-1',
        tenantId: 'acme',
        podId: 'shell',
        generation: 1,
        exitCode: null,
        container: container(state),
      },
    });
    await stack.append('agent', pool, [changed('start', 'running')], { node: pool });
    await stack.caughtUp();
    assert.equal((await podWorkspace('shell', member)).containerId, 'c-shell-1');
    assert.equal((await podWorkspace('shell', owner)).containerId, 'c-shell-1');
    assert.equal((await podWorkspace('shell', admin)).containerId, 'c-shell-1', 'a platform admin counts as owner');

    await stack.append('agent', pool, [changed('die', 'exited')], { node: pool });
    await stack.caughtUp();
    assert.equal((await podWorkspace('shell', member)).containerId, null, 'an exited container takes no terminal');
  });

  test('a pod without a volume answers volume null', async () => {
    await stack.call(
      cmd('createPod'),
      { tenantId: 'acme', podId: 'novol', spec: { image: 'agentpod-test/node:1' } },
      member,
    );
    await stack.caughtUp();
    assert.equal((await podWorkspace('novol', member)).volume, null);
  });

  test('a viewer (or a viewer token) is forbidden; another tenant and a missing pod are not_found', async () => {
    const key = { tenantId: 'acme', podId: 'shell' };
    assert.equal((await stack.refused(qry('podWorkspace'), key, viewer)).code, 'forbidden');
    assert.equal((await stack.refused(qry('podWorkspace'), key, memberToken)).code, 'forbidden');
    assert.equal((await stack.refused(qry('podWorkspace'), key, stranger)).code, 'not_found');
    const missing = await stack.refused(qry('podWorkspace'), { tenantId: 'acme', podId: 'nope' }, member);
    assert.equal(missing.code, 'not_found');
    assert.equal(
      (await stack.refused(qry('podWorkspace'), { tenantId: 'acme', podId: 'Bad!' }, member)).code,
      'invalid',
    );
  });

  test('a member removed from the tenant loses the workspace on the next ask', async () => {
    const leaver = person('wsleaver');
    await stack.append('tenants', 'acme', [
      { type: 'MemberAdded', data: { userId: leaver.userId, email: leaver.email, role: 'member' } },
    ]);
    assert.equal((await podWorkspace('shell', leaver)).nodeId, pool);
    await stack.append('tenants', 'acme', [{ type: 'MemberRemoved', data: { userId: leaver.userId } }]);
    assert.equal(
      (await stack.refused(qry('podWorkspace'), { tenantId: 'acme', podId: 'shell' }, leaver)).code,
      'not_found',
    );
  });

  test("nodeWorkspace: a platform admin anywhere, an owner on the tenant's own node; the tenant's others forbidden; the rest not_found", async () => {
    assert.deepEqual(await stack.call(qry('nodeWorkspace'), { nodeId: pool }, admin), { nodeId: pool });
    assert.deepEqual(await stack.call(qry('nodeWorkspace'), { nodeId: 'ws-pool' }, admin), { nodeId: pool });
    assert.deepEqual(await stack.call(qry('nodeWorkspace'), { nodeId: own }, admin), { nodeId: own });
    assert.deepEqual(await stack.call(qry('nodeWorkspace'), { nodeId: own }, owner), { nodeId: own });
    assert.deepEqual(await stack.call(qry('nodeWorkspace'), { nodeId: own }, ownerToken), { nodeId: own });
    for (const [nodeId, who, code] of [
      [pool, owner, 'not_found'],
      [pool, member, 'not_found'],
      [own, member, 'forbidden'],
      [own, viewer, 'forbidden'],
      [own, stranger, 'not_found'],
      [own, { ...owner, via: 'token' as const, tokenId: 'tok_x', tokenRole: 'admin' as const }, 'forbidden'],
      ['nod_doesnotexist0000000000', admin, 'not_found'],
      ['no-such-node', owner, 'not_found'],
    ] as const) {
      const refusal = await stack.refused(qry('nodeWorkspace'), { nodeId }, who);
      assert.equal(refusal.code, code, `${nodeId} as ${who.userId}: ${refusal.message}`);
    }
  });

  test('a removed node has no workspace', async () => {
    const gone = (await stack.call<AddNodeResult>(cmd('addNode'), { name: 'ws-gone' }, admin)).node.id;
    await stack.call(cmd('removeNode'), { node: gone }, admin);
    assert.equal((await stack.refused(qry('nodeWorkspace'), { nodeId: gone }, admin)).code, 'not_found');
  });
});
