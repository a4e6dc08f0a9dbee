import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { type MeteredContainer, MetricsCollector } from '@agentpod/agent';
import { createLogger } from '@agentpod/kit';
import { ensureTestImages, TEST_IMAGES } from '@agentpod/kit/testing';
import Docker from 'dockerode';
import { defineBenchmark, median, round3 } from './harness.ts';
import { removeLabelled } from './support/containers.ts';
import { inParallel } from './support/wait.ts';

/*
 * What the agent's metrics cost: its collector (agent/src/metrics) sampling the node and 50 running containers
 * every 10 s, as CPU time of one core, against `docker stats --no-stream` asked for the same 50 containers once
 * per 10 s (the CPU time of the docker CLI, plus what dockerd, containerd and the containers' shims spent while
 * it ran, minus what they spend in the same time without it).
 *
 * The collector runs in this process, as it does in the agent's, over this machine's real /proc and cgroup files
 * (never Docker's stats: a round that does not sample all 50 from their cgroup files fails the benchmark); a
 * round includes encoding the frame the agent would send. The value is the median CPU time of a round over the
 * interval, in % of one core (target ≤ 5). The baseline column holds docker stats' figure in the same unit; the
 * ratio is baseline / value (how many times cheaper the collector is).
 *
 * BENCH_COLLECTOR_SECONDS (default 60) sets how long the collector runs at its 10 s interval; 20 back-to-back
 * rounds follow, so even a short run gives a stable per-round figure.
 */

const CONTAINERS = 50;
const INTERVAL_MS = 10_000;
const BURST_ROUNDS = 20;
const DOCKER_STATS_RUNS = 3;
const LABEL = 'agentpod-bench.collector';

const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const cpuMs = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1000;
const percentOfCore = (cpuMsPerRound: number) => (100 * cpuMsPerRound) / INTERVAL_MS;

/** Clock ticks per second of /proc/<pid>/stat's utime and stime. */
async function clockTicks(): Promise<number> {
  const { stdout } = await execFileAsync('getconf', ['CLK_TCK']).catch(() => ({ stdout: '100' }));
  return Number(stdout.trim()) || 100;
}

/** Pids of Docker's own processes: dockerd, containerd and every containerd-shim. */
async function daemonPids(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '');
    if (/^(dockerd|containerd|containerd-shim.*)$/.test(comm.trim())) pids.push(Number(entry));
  }
  return pids;
}

/** CPU milliseconds the processes have used so far (user + system); a process that ended counts 0. */
async function cpuOf(pids: readonly number[], ticks: number): Promise<number> {
  let total = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // Fields after the command name (which may contain spaces): state is the 3rd field, utime the 14th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    total += ((Number(fields[11]) || 0) + (Number(fields[12]) || 0)) * (1000 / ticks);
  }
  return total;
}

/** `docker stats --no-stream <ids>`: wall time and the CLI's own CPU time (bash's `times` of its children). */
async function dockerStats(ids: readonly string[]): Promise<{ wallMs: number; cliCpuMs: number }> {
  const started = performance.now();
  const { stdout } = await execFileAsync(
    'bash',
    ['-c', 'docker stats --no-stream "$@" >/dev/null && times', 'docker-stats', ...ids],
    { maxBuffer: 1 << 20 },
  );
  const wallMs = performance.now() - started;
  // `times`: the shell's user and system time, then its children's, as 0m0.123s.
  const children = stdout.trim().split('\n').at(-1) ?? '';
  const cliCpuMs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce(
    (sum, [, minutes, seconds]) => sum + (Number(minutes) * 60 + Number(seconds)) * 1000,
    0,
  );
  return { wallMs, cliCpuMs };
}

export default defineBenchmark({
  name: 'collector-cost',
  description: `metrics collector: CPU (% of one core) for the node + ${CONTAINERS} containers every 10 s, vs docker stats --no-stream`,
  target: { measured: '<=', value: 5 },
  async run({ defer, log, signal }) {
    const seconds = Number(process.env.BENCH_COLLECTOR_SECONDS ?? 60);
    const run = `${process.pid}-${Date.now()}`;
    const docker = new Docker();
    await ensureTestImages();
    defer(() => removeLabelled(docker, [`${LABEL}=${run}`]));

    log(`starting ${CONTAINERS} sleeping containers`);
    const containers = await inParallel(
      Array.from({ length: CONTAINERS }, (_, i) => i),
      8,
      async (i): Promise<MeteredContainer> => {
        const container = await docker.createContainer({
          name: `agentpod-bench-collector-${run}-${i}`,
          Image: TEST_IMAGES.busybox,
          Cmd: ['sleep', '3600'],
          Labels: { [LABEL]: run },
          HostConfig: { Memory: 32 * 1024 * 1024 },
        });
        await container.start();
        const info = await container.inspect();
        return {
          id: info.Id,
          tenantId: 'bench',
          podId: `pod-${i}`,
          pid: info.State.Pid,
          state: 'running',
          restartCount: info.RestartCount,
        };
      },
      signal,
    );
    const ids = containers.map((container) => container.id);

    const collector = new MetricsCollector({ logger: createLogger('collector', 'warn') });
    const round = async () => {
      const usage = process.cpuUsage();
      const started = performance.now();
      const sample = await collector.collect(containers);
      // What the agent does next with it: one frame of JSON text.
      const frame = sample ? JSON.stringify({ t: 'metrics', samples: [sample] }) : '';
      const cpu = cpuMs(process.cpuUsage(usage));
      const wall = performance.now() - started;
      if (sample && sample.containers.length !== CONTAINERS)
        throw new Error(`a round sampled ${sample.containers.length} of ${CONTAINERS} containers from their cgroups`);
      return { cpu, wall, bytes: frame.length, sampled: sample !== undefined };
    };

    await round(); // primes: rates need two readings
    const timed: Awaited<ReturnType<typeof round>>[] = [];
    const rounds = Math.max(1, Math.round((seconds * 1000) / INTERVAL_MS));
    log(`collector: ${rounds} rounds at a 10 s interval (${rounds * 10} s)`);
    for (let i = 0; i < rounds; i++) {
      if (signal.aborted) throw new Error('interrupted');
      await sleep(INTERVAL_MS);
      timed.push(await round());
    }
    const burst: Awaited<ReturnType<typeof round>>[] = [];
    for (let i = 0; i < BURST_ROUNDS; i++) burst.push(await round());
    const all = [...timed, ...burst];
    const perRoundCpu = median(timed.map((r) => r.cpu));
    const burstCpu = median(burst.map((r) => r.cpu));
    const value = percentOfCore(perRoundCpu);
    log(
      `collector: ${perRoundCpu.toFixed(1)} ms CPU per round at 10 s (${burstCpu.toFixed(1)} ms back to back), ` +
        `${median(all.map((r) => r.wall)).toFixed(1)} ms wall, frame ${Math.round((all[0]?.bytes ?? 0) / 1024)} KiB`,
    );

    // docker stats: the CLI's CPU, and the daemons' CPU over its run minus their CPU over as long a quiet time.
    const ticks = await clockTicks();
    const pids = await daemonPids();
    const runs: { wallMs: number; cliCpuMs: number; daemonCpuMs: number }[] = [];
    for (let i = 0; i < DOCKER_STATS_RUNS; i++) {
      const before = await cpuOf(pids, ticks);
      const result = await dockerStats(ids);
      const after = await cpuOf(pids, ticks);
      // As long again without docker stats: what the daemons spend anyway (other containers, other users).
      const quiet = await cpuOf(pids, ticks);
      await sleep(result.wallMs);
      const background = (await cpuOf(pids, ticks)) - quiet;
      runs.push({ ...result, daemonCpuMs: Math.max(0, after - before - background) });
    }
    const statsCpu = median(runs.map((r) => r.cliCpuMs + r.daemonCpuMs));
    const baseline = percentOfCore(statsCpu);
    log(
      `docker stats --no-stream (${CONTAINERS} containers): ${median(runs.map((r) => r.wallMs)).toFixed(0)} ms wall, ` +
        `CLI ${median(runs.map((r) => r.cliCpuMs)).toFixed(0)} ms + daemons ${median(runs.map((r) => r.daemonCpuMs)).toFixed(0)} ms CPU`,
    );

    return {
      value: round3(value),
      unit: '% of one core',
      baseline: round3(baseline),
      ratio: round3(baseline / Math.max(value, 1e-6)),
      notes:
        `${CONTAINERS} sleeping containers + the node, every 10 s, ${rounds} timed rounds + ${BURST_ROUNDS} back to back; ` +
        `collector CPU/round median ${perRoundCpu.toFixed(1)} ms (back to back ${burstCpu.toFixed(1)} ms, ` +
        `min–max ${Math.min(...all.map((r) => r.cpu)).toFixed(1)}–${Math.max(...all.map((r) => r.cpu)).toFixed(1)} ms), ` +
        `wall ${median(all.map((r) => r.wall)).toFixed(1)} ms, frame ${Math.round((all[0]?.bytes ?? 0) / 1024)} KiB; ` +
        `docker stats --no-stream ×${DOCKER_STATS_RUNS}: wall ${median(runs.map((r) => r.wallMs)).toFixed(0)} ms, ` +
        `CLI ${median(runs.map((r) => r.cliCpuMs)).toFixed(0)} ms + dockerd/containerd/shims ` +
        `${median(runs.map((r) => r.daemonCpuMs)).toFixed(0)} ms CPU (over their background) per call; ` +
        `baseline = that per 10 s; ratio = baseline / collector`,
    };
  },
});
