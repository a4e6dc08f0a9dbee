import { setTimeout as sleep } from 'node:timers/promises';
import { type AgentFrame, type agentEvents, newId } from '@agentpod/contracts';
import { backoffDelay, type Logger } from '@agentpod/kit';
import type { z } from 'zod';
import type { ContainerRuntime, ObservedContainer, RuntimeEvent } from '../runtime/index.ts';
import { Debouncer } from './debounce.ts';

type ContainerChanged = z.infer<typeof agentEvents.ContainerChanged>;

export type PumpDeps = {
  runtime: Pick<ContainerRuntime, 'events' | 'inspect' | 'list'>;
  /** Sends an observation; ContainerChanged is durable (kept across a reconnect), an inventory is not. */
  send: (frame: AgentFrame, durable: boolean) => void;
  logger: Logger;
  /** Quiet time after the last change before the inventory is re-sent. */
  settleMs?: number;
  /** The inventory goes out at the latest this long after the first change of a burst that never settles. */
  maxWaitMs?: number;
  newId?: () => string;
  /** Each container as inspected after an event (null: destroyed), after its observation went out. */
  onObserved?: (containerId: string, container: ObservedContainer | null) => void;
  /** Each inventory taken, after it went out. */
  onInventory?: (containers: ObservedContainer[]) => void;
};

export type ObservationPump = {
  /** Sends a fresh inventory once the current burst of changes settles. */
  requestInventory(): void;
  stop(): Promise<void>;
};

/**
 * Turns the engine's container events into observations: one `ContainerChanged` per event, carrying the
 * container as inspected right after it (null once destroyed), and an `InventoryReported` once a burst of
 * changes has settled, so whoever derives state from events also gets the whole picture. When the event stream
 * breaks (Docker restarted), it subscribes again with backoff and re-sends the inventory, since events may have
 * been missed in between.
 */
export function startObservationPump(deps: PumpDeps): ObservationPump {
  const { runtime, logger } = deps;
  const id = deps.newId ?? newId;
  const stopping = new AbortController();
  const debouncer = new Debouncer(() => void sendInventory(), deps.settleMs ?? 500, deps.maxWaitMs ?? 5_000);

  const sendInventory = async () => {
    try {
      const containers = await runtime.list();
      deps.send({ t: 'obs', id: id(), type: 'InventoryReported', data: { containers } }, false);
      deps.onInventory?.(containers);
    } catch (error) {
      logger.warn({ err: error }, 'could not take the inventory; will send it after the next change');
    }
  };

  const observe = async (event: RuntimeEvent) => {
    let container: ContainerChanged['container'];
    try {
      container = event.action === 'destroy' ? null : await runtime.inspect(event.id);
    } catch (error) {
      // Without the container's state the observation would say less than it claims; the inventory will tell.
      logger.warn({ err: error, containerId: event.id, action: event.action }, 'could not inspect after an event');
      return;
    }
    const data: ContainerChanged = {
      action: event.action,
      containerId: event.id,
      tenantId: event.tenantId,
      podId: event.podId,
      generation: event.generation,
      exitCode: event.exitCode,
      container,
    };
    deps.send({ t: 'obs', id: id(), type: 'ContainerChanged', data }, true);
    deps.onObserved?.(event.id, container);
  };

  const run = async () => {
    for (let failures = 0; !stopping.signal.aborted; ) {
      try {
        if (failures > 0) debouncer.trigger(); // events may have been missed while the stream was down
        for await (const event of runtime.events({ signal: stopping.signal })) {
          failures = 0;
          await observe(event);
          debouncer.trigger();
        }
        if (stopping.signal.aborted) return;
        throw new Error('the event stream ended');
      } catch (error) {
        if (stopping.signal.aborted) return;
        const delay = backoffDelay({ initialMs: 500, maxMs: 30_000, jitter: 0.5 }, failures);
        if (failures === 0)
          logger.warn(
            { err: error },
            'lost Docker events; subscribing again with backoff (running pods are not touched)',
          );
        failures += 1;
        await sleep(delay, undefined, { signal: stopping.signal }).catch(() => {});
      }
    }
  };
  const running = run();

  return {
    requestInventory: () => debouncer.trigger(),
    async stop() {
      stopping.abort();
      debouncer.cancel();
      await running;
    },
  };
}
