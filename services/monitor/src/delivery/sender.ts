import { type Encrypted, type RequestMeta, systemActor } from '@agentpod/contracts';
import { ConcurrencyError, decrypt, type EventStore, type Keyring, type LeaderLocks, type Logger } from '@agentpod/kit';
import type { Kysely } from 'kysely';
import type { MonitorDb } from '../db.ts';
import { type Repositories, secretContext, urlContext } from '../deps.ts';
import { derivedEventId } from '../ids.ts';
import { LeaderLoop } from '../leader-loop.ts';
import { attemptOutcome, isDelivered, type RetryPolicy } from './backoff.ts';
import { type PostResult, postJson } from './send.ts';
import { deliveryHeaders } from './signing.ts';

/*
 * The sender: one instance (the holder of an advisory lock) posts the outbox's due deliveries, a few at a time, and
 * records each attempt as DeliveryAttempted on the delivery's aggregate. Which attempt comes next is read from that
 * aggregate, not from the read model, and the append is conditional on it: a lagging or rebuilt read model, or a
 * second sender after a takeover, cannot make an attempt happen twice. A crash between a POST and its record sends
 * that attempt again (at least once; receivers de-duplicate by the delivery id).
 *
 *   deliveries (pending, due) ──► load dlv_… ──► POST ──► append DeliveryAttempted ──► projection updates the row
 */

const LOCK_KEY = 'agentpod.monitor.webhook-sender';
const BATCH = 32;
const CONCURRENCY = 8;
/** A delivery whose handling failed unexpectedly (the log unavailable…) is left alone this long, not retried hot. */
const COOLDOWN_MS = 5_000;

export type SenderOptions = {
  db: Kysely<MonitorDb>;
  store: EventStore;
  repos: Pick<Repositories, 'deliveries'>;
  locks: LeaderLocks;
  keyring: Keyring;
  retry: RetryPolicy;
  allowPrivate: boolean;
  timeoutMs: number;
  pollMs: number;
  clock: () => Date;
  logger: Logger;
  /** Waits until the read model has applied `seq`, so the next look for due work sees this attempt. */
  caughtUp: (seq: number) => Promise<void>;
};

type DueRow = {
  delivery_id: string;
  webhook_id: string;
  tenant_id: string;
  type: string;
  payload: unknown;
  attempts: number;
  url: Encrypted;
  secret: Encrypted;
};

export class WebhookSender {
  readonly #options: SenderOptions;
  readonly #loop: LeaderLoop;
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #coolingUntil = new Map<string, number>();

  constructor(options: SenderOptions) {
    this.#options = options;
    this.#loop = new LeaderLoop({
      locks: options.locks,
      key: LOCK_KEY,
      what: 'webhook sender',
      logger: options.logger,
      intervalMs: options.pollMs,
      tick: (signal) => this.#dispatchDue(signal),
    });
  }

  start(): void {
    this.#loop.start();
  }

  /** Looks for due deliveries now (a delivery was made, an attempt finished). */
  poke(): void {
    this.#loop.poke();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
    await Promise.allSettled(this.#inFlight.values());
  }

  /** Starts the due deliveries there is room for; answers how long to wait before looking again. */
  async #dispatchDue(signal: AbortSignal): Promise<number> {
    const { db, clock, pollMs, logger } = this.#options;
    const now = clock();
    if (this.#inFlight.size < CONCURRENCY) {
      const due = (await db
        .selectFrom('deliveries as d')
        .innerJoin('webhooks as w', 'w.webhook_id', 'd.webhook_id')
        .select([
          'd.delivery_id',
          'd.webhook_id',
          'd.tenant_id',
          'd.type',
          'd.payload',
          'd.attempts',
          'w.url',
          'w.secret',
        ])
        .where('d.status', '=', 'pending')
        .where('d.next_attempt_at', '<=', now)
        .orderBy('d.next_attempt_at')
        .orderBy('d.delivery_id')
        .limit(BATCH)
        .execute()) as DueRow[];
      for (const row of due) {
        if (this.#inFlight.size >= CONCURRENCY) break;
        if (this.#inFlight.has(row.delivery_id)) continue;
        if ((this.#coolingUntil.get(row.delivery_id) ?? 0) > now.getTime()) continue;
        this.#coolingUntil.delete(row.delivery_id);
        const task = this.#deliver(row, signal)
          .then((acted) => {
            // The read model lags behind the log: look again once it has had time to catch up, not at once.
            if (!acted) this.#coolingUntil.set(row.delivery_id, clock().getTime() + pollMs);
          })
          .catch((error: unknown) => {
            if (signal.aborted) return;
            logger.error({ err: error, deliveryId: row.delivery_id }, 'webhook delivery failed; trying again later');
            this.#coolingUntil.set(row.delivery_id, clock().getTime() + COOLDOWN_MS);
          })
          .finally(() => {
            this.#inFlight.delete(row.delivery_id);
            this.poke();
          });
        this.#inFlight.set(row.delivery_id, task);
      }
    }
    const next = await db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.min('next_attempt_at').as('at'))
      .where('status', '=', 'pending')
      .where('next_attempt_at', '>', now)
      .executeTakeFirst();
    const at = next?.at ? new Date(next.at as unknown as string | Date).getTime() : Number.POSITIVE_INFINITY;
    return Math.max(0, Math.min(pollMs, at - now.getTime()));
  }

  /** One attempt of one delivery, if the log says it is still due; false when it is not (yet). */
  async #deliver(row: DueRow, signal: AbortSignal): Promise<boolean> {
    const { store, repos, retry, clock, logger } = this.#options;
    const deliveryId = row.delivery_id;
    const loaded = await repos.deliveries.load(deliveryId);
    // The read model is behind the log (it will catch up and say so): nothing to do now.
    if (loaded.state.done || loaded.state.attempts !== row.attempts) return false;
    const attempt = loaded.state.attempts + 1;
    const sentAt = clock();
    const result = await this.#post(row, sentAt, signal);
    // Stopped mid-request: not the receiver's doing; the next sender makes this attempt again.
    if (signal.aborted && result.statusCode === null) return true;
    const { outcome, nextAttemptAt } = attemptOutcome(retry, attempt, isDelivered(result.statusCode), clock());
    const meta: RequestMeta = {
      actor: systemActor('monitor'),
      correlationId: deliveryId,
      tenantId: row.tenant_id,
    };
    const data = {
      deliveryId,
      webhookId: row.webhook_id,
      tenantId: row.tenant_id,
      attempt,
      at: sentAt.toISOString(),
      statusCode: result.statusCode,
      error: result.error,
      durationMs: result.durationMs,
      outcome,
      nextAttemptAt: nextAttemptAt?.toISOString() ?? null,
    };
    let seq: number;
    try {
      const { stored } = await store.append(
        'monitor',
        deliveryId,
        [{ type: 'DeliveryAttempted', tenantId: row.tenant_id, data }],
        {
          expected: loaded.position,
          meta,
          now: sentAt,
          ids: [derivedEventId(deliveryId, String(attempt))],
        },
      );
      repos.deliveries.applyAppended(deliveryId, loaded, stored);
      seq = stored[0]?.seq ?? 0;
    } catch (error) {
      if (error instanceof ConcurrencyError) return true; // another sender recorded this attempt first
      throw error;
    }
    const log = { deliveryId, webhookId: row.webhook_id, attempt, statusCode: result.statusCode, outcome };
    if (outcome === 'delivered') logger.info(log, 'webhook delivered');
    else
      logger.warn(
        { ...log, error: result.error, nextAttemptAt: data.nextAttemptAt },
        'webhook delivery attempt failed',
      );
    await this.#options.caughtUp(seq).catch((error: unknown) => logger.warn({ err: error }, 'read model lags'));
    return true;
  }

  /** The POST of one attempt; a URL or secret that does not decrypt (another key) is that attempt's error. */
  async #post(row: DueRow, sentAt: Date, signal: AbortSignal): Promise<PostResult> {
    const { keyring } = this.#options;
    let url: string;
    let secret: string;
    try {
      url = decrypt(keyring, row.url, urlContext(row.webhook_id));
      secret = decrypt(keyring, row.secret, secretContext(row.webhook_id));
    } catch {
      return {
        statusCode: null,
        error: 'the webhook URL or secret does not decrypt: is AGENTPOD_SECRETS_KEY the one it was added with?',
        durationMs: 0,
      };
    }
    const body = JSON.stringify(row.payload);
    const headers = deliveryHeaders({ secret, body, at: sentAt, type: row.type, deliveryId: row.delivery_id });
    return postJson(url, body, headers, {
      timeoutMs: this.#options.timeoutMs,
      allowPrivate: this.#options.allowPrivate,
      signal,
    });
  }
}
