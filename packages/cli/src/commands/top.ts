import { setTimeout as sleep } from 'node:timers/promises';
import type { TopRow } from '@agentpod/contracts';
import { defineCommand } from '../args.ts';
import { EXIT, formatTable } from '../output.ts';
import { formatAge, formatBytes } from './pod-format.ts';

/* `agentpod top`: the latest CPU, memory and network of every pod (and node, for platform admins) you can see. */

/** Refresh period of --watch: the agents sample every 10 s by default. */
const WATCH_MS = 10_000;

const percent = (value: number): string => `${value.toFixed(value >= 100 ? 0 : 1)}%`;

function memoryText(row: TopRow): string {
  if (row.memoryLimitBytes === null || row.memoryLimitBytes <= 0) return `${formatBytes(row.memoryBytes)}/-`;
  const share = Math.round((row.memoryBytes / row.memoryLimitBytes) * 100);
  return `${formatBytes(row.memoryBytes)}/${formatBytes(row.memoryLimitBytes)} (${share}%)`;
}

/** Nodes first, then pods, each busiest first. Pure: `now` is a parameter (for the sample's age). */
export function formatTop(rows: readonly TopRow[], now: Date): string {
  if (rows.length === 0) return 'no recent samples (agents send them every 10 s; none in the last 5 minutes)\n';
  const sorted = [...rows].sort((a, b) =>
    a.kind === b.kind ? b.cpuPercent - a.cpuPercent : a.kind === 'node' ? -1 : 1,
  );
  return formatTable(
    ['kind', 'name', 'node', 'cpu', 'memory', 'net rx', 'net tx', 'age'],
    sorted.map((row) => [
      row.kind,
      row.kind === 'node' ? row.nodeId : `${row.tenantId}/${row.podId}`,
      row.kind === 'node' ? '-' : row.nodeId,
      percent(row.cpuPercent),
      memoryText(row),
      `${formatBytes(row.netRxBytesPerSec)}/s`,
      `${formatBytes(row.netTxBytesPerSec)}/s`,
      formatAge(row.at, now),
    ]),
  );
}

export const topCommand = defineCommand({
  path: ['top'],
  summary: 'The latest CPU, memory and network of your pods (and every node, for a platform admin)',
  options: {
    tenant: { type: 'string', value: 'T', description: 'only the pods of this tenant' },
    watch: { type: 'boolean', short: 'w', description: `refresh every ${WATCH_MS / 1000} s until Ctrl-C` },
  },
  details: 'CPU is of one core (a pod using two full cores shows 200%); a node shows its whole machine (0-100%).',
  async run(ctx, { options }) {
    const client = await ctx.client();
    const fetchRows = async () =>
      (await client.call('top', { query: { tenant: options.tenant } }, { labels: { tenant: '--tenant' } })).rows;
    if (!options.watch) {
      const rows = await fetchRows();
      ctx.out.result({ rows }, () => formatTop(rows, new Date()));
      return EXIT.ok;
    }
    const { signal } = ctx.io;
    while (!signal.aborted) {
      const rows = await fetchRows();
      const now = new Date();
      // One JSON document per refresh (NDJSON), or the table under the time it was taken.
      ctx.out.streamLine({ at: now.toISOString(), rows }, () => `${now.toISOString()}\n${formatTop(rows, now)}`);
      await sleep(WATCH_MS, undefined, { signal }).catch(() => {});
    }
    return EXIT.interrupted;
  },
});
