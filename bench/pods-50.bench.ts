import { freePort } from '@agentpod/kit/testing';
import { defineBenchmark, round3 } from './harness.ts';
import {
  BASELINE_LABEL,
  createPod,
  deletePod,
  dockerRun,
  dockerRunArgs,
  removeLabelled,
} from './support/containers.ts';
import { describeConnections, describeParts, toMb } from './support/memory.ts';
import { startStack } from './support/stack.ts';
import { inParallel } from './support/wait.ts';

/*
 * Fifty pods on one node: how long from the first `pod create` until all fifty containers run, and how much
 * memory the control plane holds once they do — every service, the gateway, the agent, the private nats-server
 * and this database's PostgreSQL backends, as separate processes the way `npm start` runs them. The baseline is
 * the same fifty containers with `docker run -d`, with the same number of requests in flight.
 *
 * The harness has one target, on the value: the value is the memory (MB, target ≤ 1 GB, aim 500 MB); the
 * baseline column holds docker run's time in seconds and the ratio is AgentPod's time over it.
 */

const PODS = 50;
/** Requests in flight at once, for both sides: a script creating pods in parallel, not fifty at one instant. */
const CONCURRENCY = 10;
const ALL_RUNNING_TIMEOUT_MS = 180_000;
/** After the last start: observations, inventories and outcome records land before memory is read. */
const SETTLE_MS = 5_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => Number((ms / 1000).toFixed(2));

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

export default defineBenchmark({
  name: 'pods-50',
  description: `${PODS} pods on this node: control-plane resident memory (MB) once all run; time vs docker run -d`,
  target: { measured: '<=', value: 1024 },
  async run(context) {
    const { log, signal } = context;
    const stack = await startStack(context);
    const { api, tenantId, runId, docker, events, track } = stack;

    // One pod first, deleted again: it proves the path works end to end, warms it up, and is the template the
    // baseline's docker run flags are read from.
    const warmName = await track(createPod(api, tenantId, 'warm-up'));
    await events.started(warmName, 30_000, signal);
    const template = await docker.getContainer(warmName).inspect();
    await deletePod(api, docker, tenantId, 'warm-up', signal);
    await sleep(2_000);
    const idle = await stack.memory();
    log(`idle stack: ${toMb(idle.totalBytes)} MB (${describeParts(idle.parts)})`);

    // Baseline first, removed before AgentPod's pods start, so memory is read with only AgentPod's fifty running.
    const baselineNames = Array.from({ length: PODS }, (_, i) => `apbench-${runId}-${i}`);
    const ports = await distinctFreePorts(PODS);
    const baselineArgs = baselineNames.map((name, i) =>
      dockerRunArgs(template, { name, runId, hostPort: ports[i] ?? 0 }),
    );
    const baselineStarted = performance.now();
    await inParallel(baselineArgs, CONCURRENCY, (args) => track(dockerRun(args, signal)), signal);
    const baselineDone = await events.allStarted(baselineNames, ALL_RUNNING_TIMEOUT_MS, signal);
    const baselineMs = baselineDone - baselineStarted;
    stack.assertUndisturbed(baselineNames);
    log(`docker run -d: ${PODS} running after ${seconds(baselineMs)} s`);
    await removeLabelled(docker, [`${BASELINE_LABEL}=${runId}`]);
    await sleep(2_000);

    const podIds = Array.from({ length: PODS }, (_, i) => `pod-${String(i).padStart(2, '0')}`);
    const started = performance.now();
    let lastReply = started;
    const names = await inParallel(
      podIds,
      CONCURRENCY,
      async (podId) => {
        const name = await track(createPod(api, tenantId, podId));
        lastReply = Math.max(lastReply, performance.now());
        return name;
      },
      signal,
    );
    const progress = setInterval(() => log(`${events.countStarted(names)}/${PODS} running`), 5_000);
    let done: number;
    try {
      done = await events.allStarted(names, ALL_RUNNING_TIMEOUT_MS, signal);
    } finally {
      clearInterval(progress);
    }
    const agentpodMs = done - started;
    log(
      `AgentPod: ${PODS} running after ${seconds(agentpodMs)} s (all created after ${seconds(lastReply - started)} s)`,
    );

    await sleep(SETTLE_MS);
    await stack.assertRunning();
    stack.assertUndisturbed(names);
    const loaded = await stack.memory();
    const value = toMb(loaded.totalBytes);
    const { backends } = loaded;
    const pssMb = loaded.pssBytes === undefined ? '?' : toMb(loaded.pssBytes);
    log(`with ${PODS} pods: ${value} MB (${describeParts(loaded.parts)})`);
    log(`the same by PSS: ${pssMb} MB, by RssAnon: ${toMb(loaded.anonBytes)} MB`);
    log(`database connections: ${describeConnections(backends.byApplication)}`);
    return {
      value,
      unit: 'MB (baseline: s)',
      baseline: seconds(baselineMs),
      ratio: round3(agentpodMs / baselineMs),
      notes:
        `control-plane RSS ${SETTLE_MS / 1000} s after all ${PODS} pods run: ${describeParts(loaded.parts)} MB ` +
        `(node processes and nats-server VmRSS; postgres backends of this database VmRSS − RssShmem, of which ` +
        `RssAnon ${toMb(backends.anonBytes)} MB; connections: ${describeConnections(backends.byApplication)}); ` +
        `PostgreSQL shared_buffers ${loaded.sharedBuffers} apart (the largest backend maps ` +
        `${toMb(backends.largestShmemBytes)} MB of it); ` +
        `the same processes counted by PSS ${pssMb} MB, ` +
        `by RssAnon ${toMb(loaded.anonBytes)} MB; idle stack before the pods ` +
        `${toMb(idle.totalBytes)} MB. Time, ${CONCURRENCY} requests in flight on both sides, from the first ` +
        `request to the last container's start event: AgentPod ${seconds(agentpodMs)} s (API replies all in after ` +
        `${seconds(lastReply - started)} s) vs docker run -d ${seconds(baselineMs)} s (same flags as the pods' ` +
        `containers, run first and removed before AgentPod's). Baseline column: docker run's seconds; ratio: time ` +
        'AgentPod / docker run. The agent reaches Docker through the benchmark’s filtering socket proxy.',
    };
  },
});
