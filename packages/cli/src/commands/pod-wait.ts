import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, type PodView, podRef } from '@agentpod/contracts';
import type { ApiClient } from '../client.ts';
import type { Context } from '../context.ts';
import { clean } from '../output.ts';
import { podStatusText } from './pod-format.ts';

/*
 * `--wait`: polls the pod until it runs (and is healthy, when it has a health check), fails, or the time is up.
 * Each change of state is a progress line on stderr with the seconds since the wait began; stdout stays for the
 * final answer.
 */

/** Quick polls while a pod usually starts, then calmer ones. */
const pollDelayMs = (elapsedMs: number) => (elapsedMs < 10_000 ? 250 : 1_000);

/** What the progress line says about a pod. */
export function waitState(pod: PodView): string {
  const status = podStatusText(pod, true);
  return pod.status === 'running' && pod.spec.health ? `${status}, health ${pod.health}` : status;
}

/** Done when the wanted generation runs and, with a health check, is healthy (or is stopped, as wanted). */
export function isReady(pod: PodView, generation: number): boolean {
  if (pod.generation < generation) return false;
  if (pod.desired === 'stopped') return pod.status === 'stopped';
  return pod.status === 'running' && (pod.spec.health === undefined || pod.health === 'healthy');
}

export async function waitForPod(
  ctx: Context,
  client: ApiClient,
  key: { tenantId: string; podId: string },
  options: { generation: number; timeoutSeconds: number },
): Promise<PodView> {
  const ref = podRef(key.tenantId, key.podId);
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  let shown = '';
  let pod: PodView | undefined;
  for (;;) {
    pod = await client.call('getPod', { params: { tenant: key.tenantId, pod: key.podId } });
    const state = waitState(pod);
    if (state !== shown) {
      ctx.out.note(`${ref}: ${clean(state)} (${Math.floor(elapsed() / 1000)}s)`);
      shown = state;
    }
    if (isReady(pod, options.generation)) return pod;
    if (pod.status === 'failed' && pod.generation >= options.generation) {
      throw new AppError('unavailable', `${ref} failed: ${pod.message ?? 'no reason given'}`);
    }
    if (elapsed() >= options.timeoutSeconds * 1000) {
      throw new AppError(
        'timeout',
        `gave up waiting for ${ref} after ${options.timeoutSeconds}s (last: ${state}); it may still start: ` +
          `agentpod pod status ${ref}`,
      );
    }
    await sleep(pollDelayMs(elapsed()), undefined, { signal: ctx.io.signal });
  }
}
