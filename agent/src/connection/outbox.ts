import type { AgentFrame } from '@agentpod/contracts';

export type Drained = {
  frames: AgentFrame[];
  /** Observations that waited for the socket (their container states are older than the hello's inventory). */
  observations: number;
  /** Observations were dropped because too many piled up; the hello's fresh inventory stands in for them. */
  overflowed: boolean;
};

/**
 * Frames waiting for the socket to be ready (open, `hello` sent). Durable frames (observations, the end of a log
 * session) wait across reconnects; the rest wait only while the current socket is opening and go when it closes.
 * Observations are bounded: past `limit`, every waiting observation is dropped at once and the outbox remembers
 * that it overflowed, so the caller replaces them with a fresh inventory — never a silent gap in the middle.
 */
export class Outbox {
  private queue: { frame: AgentFrame; durable: boolean }[] = [];
  private observations = 0;
  private overflowed = false;

  constructor(private readonly limit = 1_000) {}

  get size(): number {
    return this.queue.length;
  }

  push(frame: AgentFrame, durable: boolean): void {
    const observation = frame.t === 'obs';
    if (observation && this.overflowed) return;
    if (observation && this.observations >= this.limit) {
      this.queue = this.queue.filter((entry) => entry.frame.t !== 'obs');
      this.observations = 0;
      this.overflowed = true;
      return;
    }
    // Other frames are few (log session ends, replies while one socket opens); past the limit they go too.
    if (!observation && this.queue.length - this.observations >= this.limit) return;
    this.queue.push({ frame, durable });
    if (observation) this.observations += 1;
  }

  /** The socket closed: what was only for it goes. */
  dropTransient(): void {
    this.queue = this.queue.filter((entry) => entry.durable);
    this.observations = this.queue.filter((entry) => entry.frame.t === 'obs').length;
  }

  /** Everything waiting, in order; the outbox is empty afterwards. */
  drain(): Drained {
    const drained = {
      frames: this.queue.map((entry) => entry.frame),
      observations: this.observations,
      overflowed: this.overflowed,
    };
    this.queue = [];
    this.observations = 0;
    this.overflowed = false;
    return drained;
  }
}
