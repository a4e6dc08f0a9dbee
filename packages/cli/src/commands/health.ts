import type { PodView } from '@agentpod/contracts';
import { defineCommand } from '../args.ts';
import { EXIT, formatTable } from '../output.ts';
import { podHealthText } from './pod-format.ts';

/*
 * `agentpod health`: the pods the caller can see, counted by status and by health, and the ones that need someone
 * (failing, failed, ended while wanted running, or failing their health check) listed with what they say.
 */

/** A pod someone should look at. */
export function needsAttention(pod: PodView): boolean {
  if (pod.status === 'failing' || pod.status === 'failed') return true;
  if (pod.status === 'exited' && pod.desired === 'running') return true;
  return pod.spec.health !== undefined && pod.health === 'unhealthy';
}

const count = (values: readonly string[]) => {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts.entries()].sort(([a], [b]) => a.localeCompare(b));
};

const line = (counts: [string, number][]) => counts.map(([what, n]) => `${what} ${n}`).join(', ');

export type HealthSummary = {
  pods: number;
  byStatus: Record<string, number>;
  byHealth: Record<string, number>;
  attention: {
    tenantId: string;
    podId: string;
    status: string;
    health: string;
    restarts: number;
    message: string | null;
  }[];
};

export function summarise(pods: readonly PodView[]): HealthSummary {
  const attention = pods
    .filter(needsAttention)
    .sort((a, b) => a.tenantId.localeCompare(b.tenantId) || a.podId.localeCompare(b.podId))
    .map((pod) => ({
      tenantId: pod.tenantId,
      podId: pod.podId,
      status: pod.status,
      health: podHealthText(pod),
      restarts: pod.restarts,
      message: pod.message,
    }));
  return {
    pods: pods.length,
    byStatus: Object.fromEntries(count(pods.map((pod) => pod.status))),
    byHealth: Object.fromEntries(count(pods.map((pod) => (pod.spec.health ? pod.health : 'no check')))),
    attention,
  };
}

export function formatHealth(summary: HealthSummary): string {
  if (summary.pods === 0) return 'no pods\n';
  const head =
    `pods    ${summary.pods}: ${line(Object.entries(summary.byStatus))}\n` +
    `health  ${line(Object.entries(summary.byHealth))}\n`;
  if (summary.attention.length === 0) return `${head}\nevery pod is as it should be\n`;
  const rows = summary.attention.map((pod) => [
    `${pod.tenantId}/${pod.podId}`,
    pod.status,
    pod.health,
    pod.restarts,
    pod.message ?? '-',
  ]);
  return `${head}\nneeds attention:\n${formatTable(['pod', 'status', 'health', 'restarts', 'message'], rows)}`;
}

export const healthCommand = defineCommand({
  path: ['health'],
  summary: 'Pods by status and health; the failing and unhealthy ones with their message',
  options: { tenant: { type: 'string', value: 'T', description: "only this tenant's pods" } },
  details: 'Exits 1 when a pod needs attention (failing, failed, ended while wanted running, or unhealthy).',
  async run(ctx, { options }) {
    const { pods } = await (await ctx.client()).call(
      'listPods',
      { query: { tenant: options.tenant } },
      { labels: { tenant: '--tenant' } },
    );
    const summary = summarise(pods);
    ctx.out.result(summary, () => formatHealth(summary));
    return summary.attention.length > 0 ? EXIT.failure : EXIT.ok;
  },
});
