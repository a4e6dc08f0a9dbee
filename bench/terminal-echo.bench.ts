import { defineBenchmark, round3 } from './harness.ts';
import { percentile } from './support/wait.ts';
import { keystrokeRoundTrips, localPty, relayTerminal, startWorkspaceBench } from './support/workspace.ts';

/*
 * A keystroke's round trip: a WebSocket client sends one byte to the gateway's terminal socket, the gateway
 * relays it over NATS to the agent's socket, the agent writes it into the pty, whose line discipline echoes it,
 * and the echo comes back the same way. Measured on the node shell (node-pty in the agent, the same kind of pty
 * as the baseline) and, for the notes, on a pod (docker exec). The baseline: the same keystroke into a local
 * node-pty running `cat`, in this process.
 *
 * value: ms added by the relay at the median (node shell p50 − local p50); target ≤ 5 ms on localhost.
 */

const WARMUP = 30;
const ROUNDS = 400;

const ms = (value: number) => round3(value);

export default defineBenchmark({
  name: 'terminal-echo',
  description: 'keystroke round trip through gateway → NATS → agent → pty and back, ms added at p50 vs a local pty',
  target: { measured: '<=', value: 5 },
  async run(context) {
    const { log, signal, defer } = context;
    const bench = await startWorkspaceBench(context);

    const local = async () => {
      const listeners = new Set<(bytes: Buffer) => void>();
      const pty = localPty(['cat'], (bytes) => {
        for (const listener of listeners) listener(bytes);
      });
      defer(() => pty.kill());
      const subscribe = (listener: (bytes: Buffer) => void) => listeners.add(listener);
      await keystrokeRoundTrips(WARMUP, (b) => pty.write(b.toString()), subscribe, signal);
      const times = await keystrokeRoundTrips(ROUNDS, (b) => pty.write(b.toString()), subscribe, signal);
      pty.kill();
      return times;
    };
    const relayed = async (path: string) => {
      const listeners = new Set<(bytes: Buffer) => void>();
      const terminal = await relayTerminal(bench, path, ['cat'], (bytes) => {
        for (const listener of listeners) listener(bytes);
      });
      defer(() => terminal.terminate());
      const subscribe = (listener: (bytes: Buffer) => void) => listeners.add(listener);
      await keystrokeRoundTrips(WARMUP, (b) => terminal.input(b), subscribe, signal);
      const times = await keystrokeRoundTrips(ROUNDS, (b) => terminal.input(b), subscribe, signal);
      terminal.close();
      await terminal.ended;
      return times;
    };

    const baseline = await local();
    const node = await relayed(`${bench.nodePath}/terminal`);
    const pod = await relayed(`${bench.podPath}/terminal`);
    const p = (times: number[], fraction: number) => ms(percentile(times, fraction));
    log(`local pty p50 ${p(baseline, 0.5)} ms, p99 ${p(baseline, 0.99)} ms`);
    log(`node shell p50 ${p(node, 0.5)} ms, p99 ${p(node, 0.99)} ms`);
    log(`pod exec p50 ${p(pod, 0.5)} ms, p99 ${p(pod, 0.99)} ms`);
    await bench.stack.assertRunning();
    const added = Math.max(0, percentile(node, 0.5) - percentile(baseline, 0.5));
    return {
      value: ms(added),
      unit: 'ms added (p50)',
      baseline: p(baseline, 0.5),
      ratio: round3(percentile(node, 0.5) / Math.max(percentile(baseline, 0.5), 0.001)),
      notes:
        `${ROUNDS} sequential keystrokes each (after ${WARMUP} warm-up), one byte echoed by the pty's line ` +
        `discipline (cat). Round trip p50/p99: local node-pty ${p(baseline, 0.5)}/${p(baseline, 0.99)} ms; ` +
        `node shell through the relay ${p(node, 0.5)}/${p(node, 0.99)} ms; pod (docker exec) ` +
        `${p(pod, 0.5)}/${p(pod, 0.99)} ms. value = node p50 − local p50; ratio = node p50 / local p50 ` +
        '(lower is better). Client: a ws client in this process; stack: built processes, localhost.',
    };
  },
});
