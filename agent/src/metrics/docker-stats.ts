import { z } from 'zod';
import type { ContainerCounters } from './rates.ts';

/*
 * The fallback when a container's cgroup files cannot be read (a host that hides them from the agent, a layout
 * not recognised): Docker's one-shot stats (`GET /containers/<id>/stats?stream=false&one-shot=true`), mapped to
 * the same counters, so the rate math is the same. It costs the engine a cgroup read and a JSON answer per
 * container, so it is only used for containers whose files are unreadable.
 */

const counter = z.number().nonnegative().catch(0);

const DockerStats = z.object({
  cpu_stats: z.object({ cpu_usage: z.object({ total_usage: z.number().nonnegative() }) }),
  memory_stats: z
    .object({
      usage: counter.optional(),
      limit: counter.optional(),
      stats: z.record(z.string(), z.number()).optional(),
    })
    .catch({}),
  networks: z.record(z.string(), z.object({ rx_bytes: counter, tx_bytes: counter })).nullish(),
  blkio_stats: z
    .object({
      io_service_bytes_recursive: z.array(z.object({ op: z.string(), value: counter })).nullish(),
    })
    .nullish(),
});

/**
 * Docker's numbers as counters; undefined when the answer has no CPU usage (the container stopped meanwhile).
 * Docker reports the host's memory as the limit of a container that has none: a limit of at least the host's
 * memory is no limit.
 */
export function countersFromDockerStats(json: unknown, hostMemoryBytes: number): ContainerCounters | undefined {
  const parsed = DockerStats.safeParse(json);
  if (!parsed.success) return undefined;
  const { cpu_stats: cpu, memory_stats: memory, networks, blkio_stats: blkio } = parsed.data;
  const usage = memory.usage ?? 0;
  const inactive = memory.stats?.inactive_file ?? memory.stats?.total_inactive_file ?? 0;
  const limit = memory.limit ?? 0;
  let rxBytes = 0;
  let txBytes = 0;
  for (const [name, io] of Object.entries(networks ?? {})) {
    if (name === 'lo') continue;
    rxBytes += io.rx_bytes;
    txBytes += io.tx_bytes;
  }
  let readBytes = 0;
  let writeBytes = 0;
  for (const entry of blkio?.io_service_bytes_recursive ?? []) {
    const op = entry.op.toLowerCase();
    if (op === 'read') readBytes += entry.value;
    else if (op === 'write') writeBytes += entry.value;
  }
  return {
    cpuUsec: cpu.cpu_usage.total_usage / 1000,
    memoryBytes: inactive < usage ? usage - inactive : usage,
    memoryLimitBytes: limit > 0 && limit < hostMemoryBytes ? limit : null,
    rxBytes,
    txBytes,
    readBytes,
    writeBytes,
  };
}
