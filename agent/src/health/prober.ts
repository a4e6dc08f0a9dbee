import { type agentEvents, HealthCheck, type ProbeHealth } from '@agentpod/contracts';
import type { Logger } from '@agentpod/kit';
import type { z } from 'zod';
import type { ObservedContainer } from '../runtime/index.ts';
import { type ProbeTarget, targetOf } from './check.ts';
import { type Probe, probeFor } from './probes.ts';
import { afterProbe, type HealthState, initialHealth, nextProbeIn } from './state.ts';

export type HealthChanged = z.infer<typeof agentEvents.HealthChanged>;

export type ProberDeps = {
  /** A verdict changed (never called for a probe that changed nothing). */
  emit: (change: HealthChanged) => void;
  logger: Logger;
  /** Tests pass fakes; production probes over the network. */
  probe?: Probe;
  now?: () => number;
};

/** One run of one container: what is probed and what the probes said so far. */
type Run = {
  startedAt: string | null;
  /** What to probe, or why it cannot be (every probe of the run then fails with that reason). */
  target: ProbeTarget | { problem: string };
  state: HealthState;
  timer: NodeJS.Timeout | undefined;
  /** Aborts the probe in flight when the run ends. */
  abort: AbortController | undefined;
};

/** Everything known of one container with a health check. */
type Entry = {
  tenantId: string;
  podId: string;
  generation: number;
  /** The run being probed; undefined while the container does not run. */
  run: Run | undefined;
  /** The last verdict sent, of whichever run: a new run going back to `starting` is a change worth sending. */
  sent: ProbeHealth | undefined;
};

/**
 * Probes every running container that has a health check (`agentpod.health` label), one timer per container,
 * never two probes of one container at once. It learns about containers from the agent's observations: each
 * container as inspected after an engine event (`observe`), and whole inventories (`sync`). A new run (a start,
 * seen as a new `startedAt`) begins again at `starting`; a container that stops is not probed until it runs
 * again; a destroyed one is forgotten. Verdict changes are emitted; nothing else is.
 */
export class HealthProber {
  readonly #entries = new Map<string, Entry>();
  readonly #deps: ProberDeps;
  readonly #probe: Probe;
  readonly #now: () => number;
  #stopped = false;

  constructor(deps: ProberDeps) {
    this.#deps = deps;
    this.#probe = deps.probe ?? probeFor;
    this.#now = deps.now ?? (() => Date.now());
  }

  /** Containers being probed right now. */
  get probing(): number {
    let count = 0;
    for (const entry of this.#entries.values()) if (entry.run) count += 1;
    return count;
  }

  /** One container as just inspected after an event; null: destroyed. */
  observe(containerId: string, container: ObservedContainer | null): void {
    if (this.#stopped) return;
    if (!container) {
      this.#forget(containerId);
      return;
    }
    const target = targetOf(container);
    if (!target) {
      this.#forget(container.id); // no check (any more): nothing to probe
      return;
    }
    if (container.state !== 'running') {
      this.#end(this.#entries.get(container.id));
      return;
    }
    let entry = this.#entries.get(container.id);
    if (!entry) {
      const { tenantId, podId, generation } = container;
      entry = { tenantId, podId, generation, run: undefined, sent: undefined };
      this.#entries.set(container.id, entry);
    }
    if (entry.run && entry.run.startedAt === container.startedAt) return; // the run being probed already
    this.#end(entry);
    this.#begin(container.id, entry, container.startedAt, 'problem' in target ? target : target.target);
  }

  /** The node's whole inventory: probes what runs and is not probed yet, forgets what is gone. */
  sync(containers: readonly ObservedContainer[]): void {
    if (this.#stopped) return;
    const listed = new Set(containers.map((container) => container.id));
    for (const id of [...this.#entries.keys()]) if (!listed.has(id)) this.#forget(id);
    for (const container of containers) this.observe(container.id, container);
  }

  /**
   * The verdict on a container as just inspected: null when it has no check or does not run; `starting` for a
   * run not probed yet (just started, or seen before the prober caught up).
   */
  healthOf(container: ObservedContainer): ProbeHealth | null {
    if (container.state !== 'running' || !targetOf(container)) return null;
    const run = this.#entries.get(container.id)?.run;
    return run && run.startedAt === container.startedAt ? run.state.status : 'starting';
  }

  /** Emits the current verdict of every run being probed (after observations were lost, say). */
  resend(): void {
    for (const [id, entry] of this.#entries) if (entry.run) this.#emit(id, entry, entry.run);
  }

  /** Stops every probe; emits nothing more. Containers are untouched. */
  stop(): void {
    this.#stopped = true;
    for (const entry of this.#entries.values()) this.#end(entry);
    this.#entries.clear();
  }

  #begin(id: string, entry: Entry, startedAt: string | null, target: Run['target']): void {
    const started = startedAt ? Date.parse(startedAt) : Number.NaN;
    // The grace period counts from the container's own start, so an agent that restarts does not grant a pod
    // that has run for an hour a fresh one.
    const run: Run = {
      startedAt,
      target,
      state: initialHealth(Number.isFinite(started) ? started : this.#now()),
      timer: undefined,
      abort: undefined,
    };
    entry.run = run;
    if (entry.sent !== undefined && entry.sent !== 'starting') this.#emit(id, entry, run); // back to starting
    this.#schedule(id, entry, run, 0);
  }

  #end(entry: Entry | undefined): void {
    const run = entry?.run;
    if (!entry || !run) return;
    clearTimeout(run.timer);
    run.abort?.abort();
    entry.run = undefined;
  }

  #forget(id: string): void {
    this.#end(this.#entries.get(id));
    this.#entries.delete(id);
  }

  #schedule(id: string, entry: Entry, run: Run, delayMs: number): void {
    run.timer = setTimeout(() => void this.#probeOnce(id, entry, run), delayMs);
    run.timer.unref?.();
  }

  async #probeOnce(id: string, entry: Entry, run: Run): Promise<void> {
    run.timer = undefined;
    const startedMs = this.#now();
    const abort = new AbortController();
    run.abort = abort;
    const result =
      'problem' in run.target
        ? { ok: false as const, error: run.target.problem }
        : await this.#probe(run.target, abort.signal).catch((error: unknown) => ({
            ok: false as const,
            error: (error as Error).message,
          }));
    run.abort = undefined;
    if (entry.run !== run || this.#stopped) return; // the run ended while the probe was out
    const check = 'problem' in run.target ? DEFAULT_TIMING : run.target.check;
    const before = run.state.status;
    const now = this.#now();
    run.state = afterProbe(run.state, result, check, now);
    if (run.state.status !== before) this.#emit(id, entry, run);
    this.#schedule(id, entry, run, nextProbeIn(run.state, check, startedMs, now));
  }

  #emit(id: string, entry: Entry, run: Run): void {
    entry.sent = run.state.status;
    const { status, failures, lastError } = run.state;
    const level = status === 'unhealthy' ? 'warn' : 'info';
    this.#deps.logger[level](
      { containerId: id, pod: `${entry.tenantId}/${entry.podId}`, status, failures, lastError },
      `health of ${entry.tenantId}/${entry.podId}: ${status}`,
    );
    this.#deps.emit({
      containerId: id,
      tenantId: entry.tenantId,
      podId: entry.podId,
      generation: entry.generation,
      startedAt: run.startedAt,
      status,
      failures,
      lastError: lastError === null ? null : lastError.slice(0, 1_024),
    });
  }
}

/** For a label that cannot be probed at all: the contract's default timings, so the pod ends unhealthy in time. */
const DEFAULT_TIMING = HealthCheck.parse({ type: 'tcp' });
