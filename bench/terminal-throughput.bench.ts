import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { volumeName } from '@agentpod/contracts';
import { defineBenchmark, median, round3 } from './harness.ts';
import { cpuTimeMs } from './support/control-plane.ts';
import { localPty, relayTerminal, startWorkspaceBench } from './support/workspace.ts';

/*
 * `cat` of a large text file on a terminal: through the relay (the node shell: node-pty in the agent → agent
 * socket → gateway → NATS → gateway → WebSocket client, acknowledging as it reads) against `cat` of the same file on
 * a local node-pty in this process. A pod's terminal (docker exec, the file in its volume) is measured for the
 * notes. MB/s of terminal output received, from the start message to the exit.
 */

const FILE_MB = 64;
const ROUNDS = 3;
const MB = 1_000_000;

/** Lines of 99 letters and a newline, as a log or a listing would be. */
function textFile(bytes: number): Buffer {
  const line = `${'abcdefghijklmnopqrstuvwxyz'.repeat(4).slice(0, 99)}\n`;
  return Buffer.from(line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes));
}

export default defineBenchmark({
  name: 'terminal-throughput',
  description: 'MB/s of `cat` of a large file through the terminal relay vs a local node-pty `cat`',
  target: { ratio: '>=', value: 0.5 },
  async run(context) {
    const { log, defer, signal } = context;
    const bench = await startWorkspaceBench(context);
    const dir = await mkdtemp(join(tmpdir(), 'agentpod-bench-throughput-'));
    defer(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'big.txt');
    await writeFile(file, textFile(FILE_MB * MB));
    const { stack } = bench;
    const volume = await stack.docker.getVolume(volumeName(stack.tenantId, 'workspace')).inspect();
    await copyFile(file, join(volume.Mountpoint, 'big.txt'));

    const local = async (): Promise<{ bytes: number; seconds: number }> => {
      let bytes = 0;
      const started = performance.now();
      const pty = localPty(['cat', file], (chunk) => (bytes += chunk.length));
      defer(() => pty.kill());
      await new Promise<void>((resolve) => pty.onExit(() => resolve()));
      // node-pty may hand over the last output just after the exit.
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { bytes, seconds: (performance.now() - started) / 1000 };
    };
    const relayed = async (path: string, target: string): Promise<{ bytes: number; seconds: number }> => {
      let bytes = 0;
      const started = performance.now();
      const terminal = await relayTerminal(bench, path, ['cat', target], (chunk) => (bytes += chunk.length));
      defer(() => terminal.terminate());
      const end = await terminal.ended;
      if (end.exit?.code !== 0) throw new Error(`cat through the relay ended with ${JSON.stringify(end)}`);
      return { bytes, seconds: (performance.now() - started) / 1000 };
    };
    const rate = (run: { bytes: number; seconds: number }) => run.bytes / MB / run.seconds;
    // Where the relay spends its CPU: the gateway's and the agent's CPU time per MB relayed.
    const relayPids = stack.processes.filter((p) => p.name === 'gateway' || p.name === 'agent');
    const cpu = async () =>
      Object.fromEntries(await Promise.all(relayPids.map(async (p) => [p.name, await cpuTimeMs(p.pid)])));
    const cpuPerMb: Record<string, number[]> = { gateway: [], agent: [] };

    const results = { local: [] as number[], node: [] as number[], pod: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      if (signal.aborted) throw new Error('interrupted');
      const runs = {
        local: await local(),
        node: await (async () => {
          const before = await cpu();
          const run = await relayed(`${bench.nodePath}/terminal`, file);
          const after = await cpu();
          for (const name of Object.keys(cpuPerMb))
            cpuPerMb[name]?.push((after[name] - before[name]) / (run.bytes / MB));
          return run;
        })(),
        pod: await relayed(`${bench.podPath}/terminal`, '/data/big.txt'),
      };
      for (const [name, run] of Object.entries(runs) as [keyof typeof results, { bytes: number; seconds: number }][]) {
        if (run.bytes < FILE_MB * MB) throw new Error(`${name}: only ${run.bytes} bytes of output`);
        results[name].push(rate(run));
      }
      log(
        `round ${round + 1}: local ${rate(runs.local).toFixed(1)}, node shell ${rate(runs.node).toFixed(1)}, ` +
          `pod ${rate(runs.pod).toFixed(1)} MB/s`,
      );
    }
    await stack.assertRunning();
    const value = median(results.node);
    const baseline = median(results.local);
    const shown = (values: number[]) => values.map((v) => v.toFixed(1)).join(', ');
    return {
      value: round3(value),
      unit: 'MB/s',
      baseline: round3(baseline),
      ratio: round3(value / baseline),
      notes:
        `cat of a ${FILE_MB} MB text file (100-byte lines) on a tty, ${ROUNDS} rounds, median; MB/s of terminal ` +
        `output (CRLF included) from start to exit. local node-pty: ${shown(results.local)}; node shell through ` +
        `the relay: ${shown(results.node)}; pod (docker exec): ${shown(results.pod)} (median ` +
        `${median(results.pod).toFixed(1)}). The client acknowledges as it reads, in 64 KiB batches (window ` +
        '256 KiB, 32 KiB chunks, base64 JSON over the agent socket and NATS). CPU per MB through the node ' +
        `shell (median): gateway ${median(cpuPerMb.gateway ?? [0]).toFixed(1)} ms, agent ` +
        `${median(cpuPerMb.agent ?? [0]).toFixed(1)} ms.`,
    };
  },
});
