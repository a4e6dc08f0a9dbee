import { freePort } from '@agentpod/kit/testing';
import type Docker from 'dockerode';
import { defineBenchmark, median, round3 } from './harness.ts';
import { createPod, dockerRun, dockerRunArgs } from './support/containers.ts';
import { RestartWatch } from './support/restarts.ts';
import { startStack } from './support/stack.ts';
import { inParallel, percentile, until } from './support/wait.ts';

/*
 * A crash healed: `kill -9` of a container's main process from the host, until a new process of that container
 * runs (its `start` event on Docker's event stream, heard by this process). AgentPod's path: Docker's `die` event →
 * the agent → gateway → AGENT stream → reconciler projection → pass → the agent's `start`. The baseline: the same
 * container under Docker's own `--restart=always`, whose restart manager starts it again inside the daemon.
 *
 * Only first crashes are timed, each of a fresh container that has run healthy for longer than Docker's 10 s
 * reset, so neither side's backoff is measured: AgentPod heals the first crash at once, Docker restarts a container
 * that ran 10 s without delay. Then one pod is crashed 5 times in a row (each time as soon as it runs again), to show
 * AgentPod's backoff growing (default base 1 s: at once, 1 s, 2 s, 4 s, 8 s).
 */

const CONTAINERS = 20;
const CONCURRENCY = 5;
/** Longer than Docker's restart-manager reset (10 s of running), so its first restart is immediate too. */
const HEALTHY_FOR_MS = 12_000;
const SETTLE_MS = 1_000;
const RESTART_TIMEOUT_MS = 60_000;
const SERIES = 5;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ms = (value: number) => Math.round(value);

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** The container's host port for 8080 and its main process's pid. */
async function describeContainer(docker: Docker, name: string): Promise<{ pid: number; hostPort: number }> {
  const info = await docker.getContainer(name).inspect();
  const bindings = Object.values(info.NetworkSettings.Ports ?? {}).flat();
  return { pid: info.State.Pid, hostPort: Number(bindings[0]?.HostPort ?? 0) };
}

async function answersHealthz(hostPort: number): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${hostPort}/healthz`, { signal: AbortSignal.timeout(2_000) }).catch(
    () => undefined,
  );
  return response?.status === 200;
}

export default defineBenchmark({
  name: 'self-heal',
  description: `kill -9 of a container's main process → a new process runs: AgentPod vs docker --restart=always, ms (p50)`,
  target: { ratio: '<=', value: 1.5 },
  async run(context) {
    const { log, signal, defer } = context;
    const stack = await startStack(context);
    const { api, tenantId, runId, docker, events, track } = stack;
    const watch = await RestartWatch.open(docker);
    defer(() => watch.close());

    /** kill -9 of the container's current main process; the time of the kill. */
    const crash = async (name: string): Promise<number> => {
      const { pid } = await describeContainer(docker, name);
      if (!(pid > 0)) throw new Error(`${name} does not run (pid ${pid})`);
      const at = performance.now();
      process.kill(pid, 'SIGKILL');
      return at;
    };
    /** One crash and its healing: ms from the kill to the new process's start event. */
    const crashAndWait = async (name: string): Promise<number> => {
      const killed = await crash(name);
      const started = await watch.startAfter(name, killed, RESTART_TIMEOUT_MS, signal);
      return started - killed;
    };

    // AgentPod's pods, plus one for the series of consecutive crashes.
    const podIds = [...Array.from({ length: CONTAINERS }, (_, i) => `heal-${String(i).padStart(2, '0')}`), 'series'];
    const podNames = await inParallel(podIds, CONCURRENCY, (podId) => track(createPod(api, tenantId, podId)), signal);
    await events.allStarted(podNames, RESTART_TIMEOUT_MS * 2, signal);
    const template = await docker.getContainer(podNames[0] ?? '').inspect();

    const baselineNames = Array.from({ length: CONTAINERS }, (_, i) => `apbench-${runId}-heal-${i}`);
    const ports = await distinctFreePorts(CONTAINERS);
    const baselineArgs = baselineNames.map((name, i) =>
      dockerRunArgs(template, { name, runId, hostPort: ports[i] ?? 0, restart: 'always' }),
    );
    await inParallel(baselineArgs, CONCURRENCY, (args) => track(dockerRun(args, signal)), signal);
    const allStarted = await events.allStarted(baselineNames, RESTART_TIMEOUT_MS * 2, signal);
    log(`${podNames.length} pods and ${baselineNames.length} --restart=always containers running`);

    // Fresh and healthy: every app answers, and has run past Docker's 10 s reset.
    await until('every app answering /healthz', RESTART_TIMEOUT_MS, signal, async () => {
      const all = await Promise.all(
        [...podNames, ...baselineNames].map(async (name) =>
          answersHealthz((await describeContainer(docker, name)).hostPort),
        ),
      );
      return all.every(Boolean);
    });
    await sleep(Math.max(0, allStarted + HEALTHY_FOR_MS - performance.now()));
    await stack.assertRunning();

    const agentpod: number[] = [];
    const baseline: number[] = [];
    for (let round = 0; round < CONTAINERS && !signal.aborted; round++) {
      const sides = [
        async () => agentpod.push(await crashAndWait(podNames[round] ?? '')),
        async () => baseline.push(await crashAndWait(baselineNames[round] ?? '')),
      ];
      // Alternate which side goes first, so neither always meets an engine still busy with the other.
      for (const side of round % 2 === 0 ? sides : sides.reverse()) {
        await side();
        await sleep(SETTLE_MS);
      }
      log(
        `round ${round + 1}/${CONTAINERS}: AgentPod ${ms(agentpod.at(-1) ?? 0)} ms, docker ${ms(baseline.at(-1) ?? 0)} ms`,
      );
    }
    if (signal.aborted) throw new Error('interrupted');
    await stack.assertRunning();

    // One pod crashed again as soon as it runs: each recovery waits longer (backoff from the last exit).
    const seriesName = podNames.at(-1) ?? '';
    const series: number[] = [];
    for (let crashNo = 0; crashNo < SERIES && !signal.aborted; crashNo++) {
      series.push(await crashAndWait(seriesName));
      log(`series crash ${crashNo + 1}/${SERIES}: running again after ${ms(series.at(-1) ?? 0)} ms`);
    }
    stack.assertUndisturbed([...podNames, ...baselineNames]);

    const value = median(agentpod);
    const base = median(baseline);
    const describe = (values: readonly number[]) =>
      `p50 ${ms(median(values))}, p95 ${ms(percentile(values, 0.95))}, min ${ms(Math.min(...values))}, max ${ms(Math.max(...values))}`;
    return {
      value: ms(value),
      unit: 'ms',
      baseline: ms(base),
      ratio: round3(value / base),
      notes:
        `first crash (kill -9 of the main process from the host) of each of ${CONTAINERS} fresh pods and ${CONTAINERS} ` +
        `fresh docker run --restart=always containers (same image and flags, read from a pod's container), each ` +
        `healthy for > ${HEALTHY_FOR_MS / 1000} s, crashed one at a time, sides alternating, ${SETTLE_MS} ms apart; ` +
        `to the new process's start event on Docker's event stream. AgentPod ${describe(agentpod)} ms; ` +
        `docker --restart=always ${describe(baseline)} ms. p95 ratio ${round3(percentile(agentpod, 0.95) / percentile(baseline, 0.95))}. ` +
        `5 consecutive crashes of one pod (crashed again as soon as it ran; default backoff 1 s doubling): ` +
        `${series.map(ms).join(', ')} ms. Stack of separate processes (built dist, default reconciler settings, ` +
        'interval 5 s); the agent reaches Docker through the benchmark’s filtering socket proxy.',
    };
  },
});
