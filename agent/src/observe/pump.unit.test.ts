import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AgentFrame, ContainerSpecInput } from '@agentpod/contracts';
import { createLogger } from '@agentpod/kit';
import { MemoryRuntime } from '../testing/memory-runtime.ts';
import { startObservationPump } from './pump.ts';

const logger = createLogger('agent-test', 'silent');
const spec: ContainerSpecInput = {
  tenantId: 'acme',
  podId: 'web',
  generation: 3,
  image: 'agentpod-test/node:1',
  limits: { memoryBytes: 128 << 20, cpus: 0.5, pids: 64 },
};

describe('observation pump', () => {
  test('each engine event becomes a ContainerChanged with the state after it; a settled burst, one inventory', async () => {
    const runtime = new MemoryRuntime();
    const sent: { frame: AgentFrame; durable: boolean }[] = [];
    let inventoryArrived: () => void = () => {};
    const inventory = new Promise<void>((resolve) => (inventoryArrived = resolve));
    const pump = startObservationPump({
      runtime,
      logger,
      settleMs: 20,
      send: (frame, durable) => {
        sent.push({ frame, durable });
        if (frame.t === 'obs' && frame.type === 'InventoryReported') inventoryArrived();
      },
    });
    try {
      await new Promise((resolve) => setImmediate(resolve)); // the pump subscribes
      const { id } = await runtime.create(spec);
      await runtime.start(id);
      const container = runtime.containers.get(id);
      assert.ok(container);
      runtime.exit(container, 137);
      await runtime.remove(id);
      await inventory;
      const changes = sent.filter((s) => s.frame.t === 'obs' && s.frame.type === 'ContainerChanged');
      assert.deepEqual(
        changes.map((s) => {
          const frame = s.frame as Extract<AgentFrame, { t: 'obs' }>;
          const data = frame.data as { action: string; exitCode: number | null; generation: number; podId: string };
          return [data.action, data.exitCode, data.generation, data.podId, s.durable];
        }),
        [
          ['start', null, 3, 'web', true],
          ['die', 137, 3, 'web', true],
          ['destroy', null, 3, 'web', true],
        ],
      );
      const destroy = changes[2]?.frame;
      assert.equal(destroy?.t === 'obs' && (destroy.data as { container: unknown }).container, null);
      const ids = sent.map((s) => (s.frame as { id: string }).id);
      assert.equal(new Set(ids).size, ids.length);
      const last = sent.at(-1);
      assert.deepEqual(last?.frame.t === 'obs' && last.frame.data, { containers: [] });
      assert.equal(last?.durable, false);
    } finally {
      await pump.stop();
    }
  });
});
