import postgres from 'postgres';
import type { Sql } from './connections.ts';
import type { Logger } from './logger.ts';

/** A held advisory lock: `lost` aborts when its session dies; `release()` gives it up. */
export type LeaderLock = { key: string; lost: AbortSignal; release: () => Promise<void> };

export type LeaderLocksOptions = {
  /** The service's pool: the lock connection is opened with the same settings, as a client of its own. */
  sql: Sql;
  logger: Logger;
  /** How often the lock session is checked; a dead (or replaced) session means every lock is lost. */
  keepAliveMs?: number;
};

/**
 * The PostgreSQL advisory locks of one process, all on ONE connection: an advisory lock lives exactly as long
 * as its session, so a service with many projections holds one extra backend, not one per projection. The
 * connection is a one-connection client of its own rather than a connection reserved from the pool: postgres.js
 * throws an uncatchable error when a reserved connection whose socket closed is queried, and a client of its own
 * says when its connection closes (`onclose`), so holders step down at once.
 */
export class LeaderLocks {
  readonly #options: LeaderLocksOptions;
  readonly #client: Sql;
  /** The backend pid of the session holding `#held`; a query answered by another pid ran on a new session. */
  #pid: number | undefined;
  readonly #held = new Map<string, AbortController>();
  readonly #keepAlive: NodeJS.Timeout;

  constructor(options: LeaderLocksOptions) {
    this.#options = options;
    const { shared: _shared, ...settings } = options.sql.options as typeof options.sql.options & { shared?: unknown };
    const lockOptions = {
      ...settings,
      max: 1,
      // The lock session must not be recycled while it holds locks.
      max_lifetime: null,
      idle_timeout: null,
      onclose: () => this.#lose(new Error('the leader lock connection closed')),
    };
    this.#client = postgres(lockOptions as unknown as postgres.Options<Record<string, postgres.PostgresType>>);
    this.#keepAlive = setInterval(() => void this.#check(), options.keepAliveMs ?? 5_000);
    this.#keepAlive.unref();
  }

  /** Takes the lock named `key` if no one (in this process or another) holds it; `undefined` otherwise. */
  async tryAcquire(key: string): Promise<LeaderLock | undefined> {
    // Advisory locks are re-entrant within a session: a second holder in this process must not get it too.
    if (this.#held.has(key)) return undefined;
    const [row] = await this.#client<{ locked: boolean; pid: number }[]>`
      select pg_try_advisory_lock(hashtext(${key})) as locked, pg_backend_pid() as pid`;
    if (!row) throw new Error('pg_try_advisory_lock returned nothing');
    if (this.#pid !== row.pid) {
      // A new session: whatever the old one held is gone.
      if (this.#pid !== undefined) this.#lose(new Error('the leader lock session was replaced'));
      this.#pid = row.pid;
    }
    if (!row.locked) return undefined;
    if (this.#held.has(key)) {
      await this.#unlock(key);
      return undefined;
    }
    const lost = new AbortController();
    this.#held.set(key, lost);
    return {
      key,
      lost: lost.signal,
      release: async () => {
        if (this.#held.get(key) !== lost) return;
        this.#held.delete(key);
        if (!lost.signal.aborted) await this.#unlock(key);
      },
    };
  }

  /** Releases every lock (by ending the session) and closes the connection. */
  async close(): Promise<void> {
    clearInterval(this.#keepAlive);
    for (const lost of this.#held.values()) lost.abort();
    this.#held.clear();
    await this.#client.end({ timeout: 5 });
  }

  async #unlock(key: string): Promise<void> {
    await this.#client`select pg_advisory_unlock(hashtext(${key}))`.catch((error: unknown) => this.#lose(error));
  }

  async #check(): Promise<void> {
    if (this.#held.size === 0) return;
    try {
      const [row] = await this.#client<{ pid: number }[]>`select pg_backend_pid() as pid`;
      if (row?.pid !== this.#pid) this.#lose(new Error('the leader lock session was replaced'));
    } catch (error) {
      this.#lose(error);
    }
  }

  /** Every lock is gone with the session: tell their holders. */
  #lose(error: unknown): void {
    this.#pid = undefined;
    if (this.#held.size === 0) return;
    this.#options.logger.error({ err: error, locks: [...this.#held.keys()] }, 'lost the leader lock connection');
    for (const lost of this.#held.values()) lost.abort();
    this.#held.clear();
  }
}
