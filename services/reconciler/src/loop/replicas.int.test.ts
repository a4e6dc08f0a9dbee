import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  commandSubject,
  newId,
  PodSpec,
  ReconcileResult,
  type ReconcilerStats,
  systemActor,
} from '@agentpod/contracts';
import { request } from '@agentpod/kit';
import { ensureTestImages, TEST_IMAGES } from '@agentpod/kit/testing';
import { shardOf } from '../shards.ts';
import { type Replica, type ReplicaStack, startReplicaStack } from '../testing/replicas.testing.ts';
import { eventually, nodeIdFor, podVolume } from '../testing/stack.testing.ts';

/*
 * Two reconciler processes on one NATS and one database split the pods' shards; pods on both halves are healed;
 * one is killed with SIGKILL and the other takes its shards and heals its pods. Through all of it, no pod ever has
 * two Docker operations under way at once.
 */

const SHARDS = 8;
const ACCESS_TOKEN = { v: 1, iv: 'aXY=', tag: 'dGFn', data: 'ZGF0YQ==' };
const spec = PodSpec.parse({ image: TEST_IMAGES.node, limits: { memoryBytes: 64 << 20, cpus: 0.25, pids: 64 } });

describe('reconciler replicas: split, heal, take over', () => {
  let stack: ReplicaStack;
  let first: Replica;
  let second: Replica;
  let nodeId: string;
  let tenantId: string;
  /** Pods by the replica whose shards hold them. */
  const podsOf = new Map<string, string[]>();

  const running = async (podId: string) => {
    const found = (await stack.runtime.list()).filter((c) => c.tenantId === tenantId && c.podId === podId);
    return found.length === 1 && found[0]?.state === 'running' ? found[0] : undefined;
  };
  const crashAndHeal = async (podId: string) => {
    const before = await eventually(`${podId} running`, () => running(podId));
    await stack.docker.getContainer(before.id).kill();
    const healed = await eventually(`${podId} running again`, async () => {
      const now = await running(podId);
      return now && now.startedAt !== before.startedAt ? now : undefined;
    });
    assert.equal(healed.id, before.id, `${podId}: the same container runs again`);
  };
  const split = (stats: ReconcilerStats) => stats.replicas.map((replica) => replica.shards.length).sort();

  before(async () => {
    await ensureTestImages();
    stack = await startReplicaStack({ intervalMs: 500, shards: SHARDS });
    tenantId = stack.tenantId;
    nodeId = nodeIdFor(tenantId.slice(2), 'r');
    first = await stack.replica('first');
    await eventually('the first replica holds every shard', async () => {
      const stats = await stack.stats().catch(() => undefined);
      return stats?.replicas.length === 1 && stats.unheld.length === 0;
    });
    // The replica made the streams the agent appends to.
    await stack.agent(nodeId, (c) => c.tenantId === tenantId);
    second = await stack.replica('second');
  });
  after(async () => {
    await stack?.stop();
  });

  test('both replicas hold shards, half each, every shard held once', async () => {
    const stats = await eventually('two replicas with four shards each', async () => {
      const current = await stack.stats().catch(() => undefined);
      return current && current.unheld.length === 0 && split(current).join() === '4,4' ? current : undefined;
    });
    const [a, b] = stats.replicas;
    assert.ok(a && b);
    assert.equal(new Set([...a.shards, ...b.shards]).size, SHARDS);
    // Two pods in each replica's shards.
    for (const replica of stats.replicas) {
      const mine: string[] = [];
      for (let i = 0; mine.length < 2; i++) {
        const podId = `pod-${i}`;
        if (replica.shards.includes(shardOf(`${tenantId}/${podId}`, SHARDS))) mine.push(podId);
      }
      podsOf.set(replica.instanceId, mine);
    }
  });

  test('pods on both halves are created and healed after a crash', async () => {
    for (const podId of [...podsOf.values()].flat()) {
      await stack.podEvent(podId, {
        type: 'PodCreated',
        data: {
          tenantId,
          podId,
          nodeId,
          spec,
          secrets: {},
          ports: [],
          volumeName: podVolume(tenantId, podId),
          accessToken: ACCESS_TOKEN,
          generation: 1,
        },
      });
    }
    for (const podId of [...podsOf.values()].flat()) await eventually(`${podId} running`, () => running(podId));
    for (const podId of [...podsOf.values()].flat()) await crashAndHeal(podId);
  });

  test('a pass on request: every replica runs one and answers (nothing to do: every pod runs)', async () => {
    const result = ReconcileResult.parse(
      await request(
        stack.nc,
        commandSubject('reconciler', 'reconcile'),
        {},
        { actor: systemActor('test'), correlationId: newId() },
        { timeoutMs: 30_000 },
      ),
    );
    assert.equal(result.replicas.length, 2);
    assert.equal(new Set(result.replicas.flatMap((replica) => replica.shards)).size, SHARDS);
    assert.ok(result.replicas.every((replica) => replica.skipped === null));
    assert.deepEqual([result.actions, result.waits], [[], []]);
  });

  test('a replica killed with SIGKILL: the other holds every shard and heals its pods', async () => {
    // Which process is which instance: the one still answering after the kill is the survivor.
    first.child.kill('SIGKILL');
    await first.exited;
    const stats = await eventually('one replica holds every shard', async () => {
      const current = await stack.stats().catch(() => undefined);
      return current && current.replicas.length === 1 && current.unheld.length === 0 ? current : undefined;
    });
    const [survivor] = stats.replicas;
    assert.ok(survivor);
    assert.equal(survivor.shards.length, SHARDS);
    const orphaned = [...podsOf.entries()].filter(([instanceId]) => instanceId !== survivor.instanceId);
    assert.equal(orphaned.length, 1, 'the dead replica had pods');
    for (const podId of orphaned.flatMap(([, pods]) => pods)) await crashAndHeal(podId);
    assert.equal(second.child.exitCode, null, 'the survivor is still running');
  });

  test('no pod ever had two Docker operations under way at once', () => {
    assert.deepEqual(stack.runtime.overlaps, []);
    assert.ok([...stack.runtime.peak.values()].every((peak) => peak === 1));
    assert.ok(stack.runtime.peak.size >= 4, 'every pod was acted on');
  });
});
