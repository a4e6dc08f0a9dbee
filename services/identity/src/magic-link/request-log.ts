import type { AppError } from '@agentpod/contracts';
import type { Logger } from '@agentpod/kit';
import { type Kysely, sql } from 'kysely';
import { sha256 } from '../credentials.ts';
import type { OpsDatabase } from '../ops/schema.ts';
import { linkRateLimit } from './rate-limit.ts';

/** Advisory locks of this log use the two-key form `(namespace, key)`, a key space apart from the kit's locks. */
const LOCK_NAMESPACE = 'agentpod.identity.sign-in-requests';
const PRUNE_LOCK = 'prune';

export type RequestLimit = { max: number; windowMs: number };

/**
 * The per-address limit on sign-in link requests, shared by every identity replica through PostgreSQL
 * (`identity_ops.sign_in_requests`). It counts requests, not issued links, so an address with an account and
 * one without get the same answers. Only a hash of the address is stored.
 */
export class SignInRequestLog {
  readonly #db: Kysely<OpsDatabase>;
  readonly #limit: RequestLimit;
  readonly #logger: Logger;
  readonly #pruneEveryMs: number;
  #lastPrune = Number.NEGATIVE_INFINITY;

  constructor(options: { db: Kysely<OpsDatabase>; limit: RequestLimit; logger: Logger; pruneEveryMs?: number }) {
    this.#db = options.db;
    this.#limit = options.limit;
    this.#logger = options.logger;
    this.#pruneEveryMs = options.pruneEveryMs ?? 60_000;
  }

  /**
   * Records a request for `email` at `now`, or returns the `rate_limited` error (with `retryAfterSeconds`) when
   * the address has used up its window. A refused request is not recorded: it gets no link, and counting it
   * would let a stream of refused requests keep the address locked out past the announced retry time.
   */
  async admit(email: string, now: Date): Promise<AppError | undefined> {
    const emailHash = sha256(email);
    const windowStart = new Date(now.getTime() - this.#limit.windowMs);
    const refusal = await this.#db.transaction().execute(async (tx) => {
      // One request per address at a time across replicas: two racing requests cannot both take the last slot.
      await sql`select pg_advisory_xact_lock(hashtext(${LOCK_NAMESPACE}), hashtext(${emailHash}))`.execute(tx);
      const rows = await tx
        .selectFrom('sign_in_requests')
        .select('requested_at')
        .where('email_hash', '=', emailHash)
        .where('requested_at', '>', windowStart)
        .execute();
      const limited = linkRateLimit(
        rows.map((row) => row.requested_at),
        now,
        this.#limit,
      );
      if (limited) return limited;
      await tx.insertInto('sign_in_requests').values({ email_hash: emailHash, requested_at: now }).execute();
      return undefined;
    });
    await this.#pruneNowAndThen(now, windowStart);
    return refusal;
  }

  /**
   * Deletes rows that left the window, at most once per `pruneEveryMs` on each replica and by one replica at a
   * time. Admitting only inserts and never deletes, so pruning cannot deadlock with it. A failed prune is only
   * logged: the rows are gone at the next one, and the request it rode on is already admitted or refused.
   */
  async #pruneNowAndThen(now: Date, windowStart: Date): Promise<void> {
    if (now.getTime() - this.#lastPrune < this.#pruneEveryMs) return;
    this.#lastPrune = now.getTime();
    try {
      await this.#db.transaction().execute(async (tx) => {
        const { rows } = await sql<{ locked: boolean }>`
          select pg_try_advisory_xact_lock(hashtext(${LOCK_NAMESPACE}), hashtext(${PRUNE_LOCK})) as locked`.execute(tx);
        if (!rows[0]?.locked) return;
        await tx.deleteFrom('sign_in_requests').where('requested_at', '<=', windowStart).execute();
      });
    } catch (error) {
      this.#logger.warn({ err: error }, 'could not prune old sign-in requests; the next request tries again');
    }
  }
}
