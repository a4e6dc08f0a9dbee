import { type Context, streamName } from '@agentpod/contracts';
import type { RunningService } from '@agentpod/kit';
import { type ServiceStack, startServiceStack } from '@agentpod/kit/testing';
import type { MonitorDb } from '../db.ts';
import type { MonitorEnv } from '../env.ts';
import { monitorService } from '../index.ts';

export { eventually, person } from '@agentpod/kit/testing';

/*
 * The monitor on a private nats-server and a fresh database. Nothing else runs: the test appends what the tenants
 * service and the reconciler would (memberships, PodFailing, PodRecovered) to their streams itself, and calls the
 * monitor's commands and queries over NATS as the gateway would.
 */

export type Stack = Omit<ServiceStack<MonitorDb, MonitorEnv>, 'service'> & {
  monitor: RunningService<MonitorDb, MonitorEnv>;
  /** Every message of a stream, as stored (the raw text). */
  rawStream(context: Context): Promise<string[]>;
};

/** `clock`: the monitor's clock (alert rule tests move it forward). */
export async function startStack(
  env: Record<string, string> = {},
  options: { clock?: () => Date } = {},
): Promise<Stack> {
  const { service: monitor, ...stack } = await startServiceStack(monitorService, { env, ...options });
  const { runtime } = monitor;
  return {
    ...stack,
    monitor,
    async rawStream(context) {
      const stream = streamName(context);
      const last = (await runtime.jsm.streams.info(stream)).state.last_seq;
      const messages: string[] = [];
      for (let seq = 1; seq <= last; seq++) {
        const message = await runtime.jsm.direct.getMessage(stream, { seq });
        if (message) messages.push(message.string());
      }
      return messages;
    },
  };
}
