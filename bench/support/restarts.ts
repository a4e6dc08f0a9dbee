import type Docker from 'dockerode';
import { type DockerEvent, followDockerEvents } from './docker-events.ts';

/*
 * Every `start` and `die` of every container on this Docker Engine, as this process hears them on Docker's event
 * stream, with the time each arrived: when a crashed container's new process runs, whoever started it (AgentPod's
 * agent, or Docker's own restart policy) — the same clock and the same path for both. Unlike ContainerEvents
 * (first start only), it keeps every start, for containers that crash and start again.
 */

export class RestartWatch {
  /** Container name → performance.now() of each start event, oldest first. */
  readonly #starts = new Map<string, number[]>();
  readonly #waiters = new Set<() => void>();
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

  /** Subscribes before it resolves: every start after this is seen. */
  static async open(docker: Docker): Promise<RestartWatch> {
    const stream = await docker.getEvents({ filters: { type: ['container'], event: ['start'] } });
    return new RestartWatch(stream as NodeJS.ReadableStream & { destroy?: () => void });
  }

  /** When the named container first started after `after` (a performance.now()); waits up to `timeoutMs`. */
  async startAfter(name: string, after: number, timeoutMs: number, signal?: AbortSignal): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.#starts.get(name)?.find((at) => at > after);
      if (found !== undefined) return found;
      if (this.#failure) throw new Error(`watching Docker events: ${this.#failure.message}`);
      if (signal?.aborted) throw new Error('interrupted');
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`container ${name} did not start again within ${Math.round(timeoutMs / 1000)} s`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(left, 1_000));
        this.#waiters.add(wake);
      });
    }
  }

  close(): void {
    this.#failure ??= new Error('closed');
    this.#stream.destroy?.();
    for (const wake of [...this.#waiters]) wake();
  }

  #record(event: DockerEvent, now: number): void {
    const name = event.Actor?.Attributes?.name;
    if (event.Type !== 'container' || event.Action !== 'start' || !name) return;
    this.#starts.set(name, [...(this.#starts.get(name) ?? []), now]);
    for (const wake of [...this.#waiters]) wake();
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const wake of [...this.#waiters]) wake();
  }
}
