import type Docker from 'dockerode';

/*
 * When containers were created and started, as the benchmark process hears it from Docker's event stream: the
 * same clock and the same path for AgentPod's containers and the baseline's, so neither side gains from how it
 * is observed. A `start` event is sent once the container's process runs, which is what "running" means here;
 * `destroy` is watched only to notice interference.
 */

export type ContainerTimes = { create?: number; start?: number; destroy?: number };
type Action = keyof ContainerTimes;
const ACTIONS: readonly string[] = ['create', 'start', 'destroy'] satisfies Action[];

export type DockerEvent = {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
};
export type DockerEventStream = NodeJS.ReadableStream & { destroy?: () => void };

/**
 * Reads Docker's event stream (JSON lines): each event goes to `record` with the performance.now() its chunk
 * arrived at; an error or the end of the stream goes to `fail`.
 */
export function followDockerEvents(
  stream: DockerEventStream,
  record: (event: DockerEvent, now: number) => void,
  fail: (error: Error) => void,
): void {
  let pending = '';
  stream.on('data', (chunk: Buffer) => {
    const now = performance.now();
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') record(JSON.parse(line) as DockerEvent, now);
  });
  stream.on('error', fail);
  stream.on('end', () => fail(new Error('the Docker event stream ended')));
}

export class ContainerEvents {
  readonly #times = new Map<string, ContainerTimes>();
  readonly #waiters = new Map<string, (() => void)[]>();
  readonly #stream: NodeJS.ReadableStream & { destroy?: () => void };
  #failure: Error | undefined;

  private constructor(stream: NodeJS.ReadableStream & { destroy?: () => void }) {
    this.#stream = stream;
    followDockerEvents(
      stream,
      (event, now) => this.#record(event, now),
      (error) => this.#fail(error),
    );
  }

  /** Subscribes before it resolves: every container created after this is seen. */
  static async open(docker: Docker): Promise<ContainerEvents> {
    const stream = await docker.getEvents({ filters: { type: ['container'], event: [...ACTIONS] } });
    return new ContainerEvents(stream as NodeJS.ReadableStream & { destroy?: () => void });
  }

  /** performance.now() when each event of the named container arrived. */
  times(name: string): ContainerTimes {
    return this.#times.get(name) ?? {};
  }

  /** When the named container started; waits for it (up to `timeoutMs`). */
  async started(name: string, timeoutMs: number, signal?: AbortSignal): Promise<number> {
    await this.#until(name, 'start', timeoutMs, signal);
    return this.times(name).start ?? Number.NaN;
  }

  /** When the last of the named containers started. */
  async allStarted(names: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    const times = await Promise.all(
      names.map((name) => this.started(name, Math.max(0, deadline - performance.now()), signal)),
    );
    return Math.max(...times);
  }

  /** How many of the named containers have started so far. */
  countStarted(names: readonly string[]): number {
    return names.filter((name) => this.times(name).start !== undefined).length;
  }

  /**
   * Which of the named containers were removed. A benchmark removes nothing while it measures, so a removal means
   * something else acted on this run's containers (another control plane without a filtered view of this engine).
   */
  destroyed(names: readonly string[]): string[] {
    return names.filter((name) => this.times(name).destroy !== undefined);
  }

  close(): void {
    this.#failure ??= new Error('closed');
    this.#stream.destroy?.();
    for (const wake of [...this.#waiters.values()].flat()) wake();
    this.#waiters.clear();
  }

  #record(event: DockerEvent, now: number): void {
    const action = event.Action;
    const name = event.Actor?.Attributes?.name;
    if (event.Type !== 'container' || !name || !action || !ACTIONS.includes(action)) return;
    const times = this.#times.get(name) ?? {};
    times[action as Action] ??= now; // the first one: a later restart does not move when it first ran
    this.#times.set(name, times);
    const waiters = this.#waiters.get(name);
    if (!waiters) return;
    this.#waiters.delete(name);
    for (const wake of waiters) wake();
  }

  #fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = error;
    for (const wake of [...this.#waiters.values()].flat()) wake();
    this.#waiters.clear();
  }

  async #until(name: string, action: Action, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.times(name)[action] === undefined) {
      if (this.#failure) throw new Error(`watching Docker events: ${this.#failure.message}`);
      if (signal?.aborted) throw new Error('interrupted');
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`container ${name} did not ${action} within ${Math.round(timeoutMs / 1000)} s`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(wake, Math.min(left, 1_000));
        function wake() {
          clearTimeout(timer);
          resolve();
        }
        this.#waiters.set(name, [...(this.#waiters.get(name) ?? []), wake]);
      });
    }
  }
}
