import { freePort } from '@agentpod/kit/testing';
import { defineBenchmark, median, round3 } from './harness.ts';
import { createPod, dockerRun, dockerRunArgs } from './support/containers.ts';
import { startStack } from './support/stack.ts';
import { percentile } from './support/wait.ts';

/*
 * One pod from `pod create` to its container running, through the whole of AgentPod (gateway REST API, pods
 * service placement and ports, PODS event, reconciler projection and pass, containerSpec query, the agent over
 * its WebSocket, dockerode create and start), against `docker run -d` of the same container. Both end at the
 * same observation: the container's `start` event on Docker's event stream, heard by this process.
 */

const ROUNDS = 10;
/** Lets the previous round's tail (observations, inventories, outcome records) pass before the next clock starts. */
const SETTLE_MS = 1_500;
const RUNNING_TIMEOUT_MS = 30_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ms = (value: number) => Math.round(value);
const describe = (values: readonly number[]) => `median ${ms(median(values))}, p90 ${ms(percentile(values, 0.9))}`;

export default defineBenchmark({
  name: 'pod-create',
  description: 'pod create (REST) → container running through AgentPod vs docker run -d of the same container, ms',
  target: { ratio: '<=', value: 1.5 },
  async run(context) {
    const { log, signal } = context;
    const stack = await startStack(context);
    const { api, tenantId, runId, docker, events, track } = stack;

    /** One pod through AgentPod: [to running, API reply, reply → container created]. */
    const agentpodRound = async (podId: string) => {
      const started = performance.now();
      const name = await track(createPod(api, tenantId, podId));
      const replied = performance.now();
      const running = await events.started(name, RUNNING_TIMEOUT_MS, signal);
      const created = events.times(name).create ?? running;
      return { total: running - started, reply: replied - started, toCreate: created - replied, name };
    };
    /** One `docker run -d`: [to running, CLI exit]. */
    const baselineRound = async (name: string, args: string[]) => {
      const started = performance.now();
      await track(dockerRun(args, signal));
      const exited = performance.now();
      const running = await events.started(name, RUNNING_TIMEOUT_MS, signal);
      const created = events.times(name).create ?? running;
      return { total: running - started, exit: exited - started, createToStart: running - created, name };
    };

    // Warm-up, not counted: the first pod pays for JIT, connection pools and the reconciler's first pass; it
    // is also the template the baseline's flags are read from.
    const warm = await agentpodRound('warm-up');
    const template = await docker.getContainer(warm.name).inspect();
    const baselineArgs = async (name: string) => dockerRunArgs(template, { name, runId, hostPort: await freePort() });
    const warmBaseline = await baselineRound(`apbench-${runId}-warm`, await baselineArgs(`apbench-${runId}-warm`));
    log(`warm-up: AgentPod ${ms(warm.total)} ms, docker run ${ms(warmBaseline.total)} ms (not counted)`);
    await sleep(SETTLE_MS);

    const agentpod: { total: number; reply: number; toCreate: number; name: string }[] = [];
    const baseline: { total: number; exit: number; createToStart: number; name: string }[] = [];
    for (let round = 0; round < ROUNDS && !signal.aborted; round++) {
      const name = `apbench-${runId}-${round}`;
      const args = await baselineArgs(name);
      const sides = [
        async () => agentpod.push(await agentpodRound(`pod-${round}`)),
        async () => baseline.push(await baselineRound(name, args)),
      ];
      // Alternate which side goes first, so neither always meets a Docker Engine still busy with the other.
      for (const side of round % 2 === 0 ? sides : sides.reverse()) {
        await side();
        await sleep(SETTLE_MS);
      }
      await stack.assertRunning();
      log(
        `round ${round + 1}/${ROUNDS}: AgentPod ${ms(agentpod.at(-1)?.total ?? 0)} ms, ` +
          `docker run ${ms(baseline.at(-1)?.total ?? 0)} ms`,
      );
    }
    if (signal.aborted) throw new Error('interrupted');
    stack.assertUndisturbed([...agentpod, ...baseline].map((r) => r.name));

    const totals = agentpod.map((r) => r.total);
    const baseTotals = baseline.map((r) => r.total);
    const value = median(totals);
    const base = median(baseTotals);
    const replies = agentpod.map((r) => r.reply);
    const toCreate = agentpod.map((r) => r.toCreate);
    const createToStart = agentpod.map((r) => r.total - r.reply - r.toCreate);
    return {
      value: ms(value),
      unit: 'ms',
      baseline: ms(base),
      ratio: round3(value / base),
      notes:
        `${ROUNDS} alternating rounds after one warm-up each, ${SETTLE_MS} ms apart, on a stack of separate ` +
        `processes (built dist, log level info); each ends at the container's start event on Docker's event ` +
        `stream. AgentPod ${describe(totals)} ms: API reply ${describe(replies)}, reply → container created ` +
        `${describe(toCreate)}, created → running ${describe(createToStart)}. docker run -d (the CLI, flags ` +
        `read from the pod's container: ${TEMPLATE_FLAGS}) ${describe(baseTotals)} ms, of which created → ` +
        `running ${describe(baseline.map((r) => r.createToStart))}; CLI exit median ` +
        `${ms(median(baseline.map((r) => r.exit)))}. Warm-up (not counted; the first pod right after the agent ` +
        `joined): AgentPod ${ms(warm.total)} ms, docker run ${ms(warmBaseline.total)} ms. The agent reaches ` +
        'Docker through the benchmark’s filtering socket proxy (one local hop), which hides other runs’ ' +
        'containers on this shared engine.',
    };
  },
});

const TEMPLATE_FLAGS = 'port 8080 on 127.0.0.1, 256 MiB, 0.5 CPU, 256 pids, caps, no-new-privileges, log opts';
