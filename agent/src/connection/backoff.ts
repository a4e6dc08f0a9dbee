import { type Backoff, backoffDelay } from '@agentpod/kit';

/** 0.5 s doubling to 30 s, each delay drawn from its upper half so a fleet of agents does not dial in step. */
export const RECONNECT_BACKOFF: Backoff = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.5 };

/** A connection that lasted this long was a real one: the next failure starts the backoff afresh. */
export const STABLE_CONNECTION_MS = 10_000;

/**
 * When to dial again. Failures in a row back off exponentially; a refused credential waits the longest delay
 * every time (the node may have been removed; an operator may join it again, so the agent keeps asking, slowly).
 * A connection that opened and closed at once (a gateway that accepts then drops us) does not reset the count,
 * so such a loop backs off too. Pure apart from `random`, which tests fix.
 */
export class ReconnectBackoff {
  private failures = 0;
  private openedAt: number | undefined;

  constructor(
    private readonly backoff: Backoff = RECONNECT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  opened(now: number): void {
    this.openedAt = now;
  }

  /** The delay before the next attempt, after a socket closed or failed to open at `now`. */
  next(now: number, refused: boolean): number {
    if (this.openedAt !== undefined && now - this.openedAt >= STABLE_CONNECTION_MS) this.failures = 0;
    this.openedAt = undefined;
    if (refused) {
      this.failures += 1;
      return backoffDelay(this.backoff, Number.POSITIVE_INFINITY, this.random);
    }
    return backoffDelay(this.backoff, this.failures++, this.random);
  }
}
