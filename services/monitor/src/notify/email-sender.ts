import { EmailAudience, type EmailOutcome, type RequestMeta, systemActor } from '@agentpod/contracts';
import { ConcurrencyError, type EventStore, type Logger, type Mailer } from '@agentpod/kit';
import type { Kysely, Selectable } from 'kysely';
import type { EmailDeliveriesTable } from '../alert/tables.ts';
import type { MonitorDb } from '../db.ts';
import { attemptOutcome, type RetryPolicy } from '../delivery/backoff.ts';
import type { Repositories } from '../deps.ts';
import { derivedEventId } from '../ids.ts';
import { alertEmail, type EmailPayload } from './email-content.ts';
import { recipientsOf } from './recipients.ts';

/*
 * The email sender: run by one instance at a time (LeaderLoop, lock `agentpod.monitor.email-sender`), it sends the
 * due email deliveries one by one and records each attempt as EmailAttempted on the delivery's aggregate, whose
 * state (from the log) says which attempt is next; the append is conditional on it, so two senders for a moment
 * or a lagging read model never send an attempt twice. Failed sends are retried with the webhooks' backoff.
 * Recipients are looked up at send time and only counted in the log. Without an SMTP server (local mode) an email
 * is recorded as `skipped`, never as sent.
 */

export const EMAIL_SENDER_LOCK = 'agentpod.monitor.email-sender';
const BATCH = 16;

export type EmailSenderOptions = {
  db: Kysely<MonitorDb>;
  store: EventStore;
  repos: Pick<Repositories, 'emails'>;
  mailer: Mailer;
  retry: RetryPolicy;
  publicUrl: string;
  clock: () => Date;
  logger: Logger;
  caughtUp: (seq: number) => Promise<void>;
};

type Attempt = { outcome: EmailOutcome; error: string | null; recipients: number; nextAttemptAt: Date | null };

/** Only codes from an SMTP failure: the server's message may quote an address. */
function smtpError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; responseCode?: number } }).cause;
  const parts = [cause?.code, cause?.responseCode].filter((part) => part !== undefined);
  return `the SMTP server did not take the email${parts.length > 0 ? ` (${parts.join(' ')})` : ''}`;
}

export class EmailSender {
  readonly #options: EmailSenderOptions;

  constructor(options: EmailSenderOptions) {
    this.#options = options;
  }

  /** Sends what is due; answers how soon the next delivery is due (ms), if any. */
  async tick(signal: AbortSignal): Promise<number | undefined> {
    const { db, clock } = this.#options;
    const now = clock();
    const due = await db
      .selectFrom('email_deliveries')
      .selectAll()
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .orderBy('delivery_id')
      .limit(BATCH)
      .execute();
    for (const row of due) {
      if (signal.aborted) return undefined;
      await this.#deliver(row).catch((error: unknown) =>
        this.#options.logger.error({ err: error, deliveryId: row.delivery_id }, 'alert email: attempt not recorded'),
      );
    }
    if (due.length === BATCH) return 0;
    const next = await db
      .selectFrom('email_deliveries')
      .select((eb) => eb.fn.min('next_attempt_at').as('at'))
      .where('status', '=', 'pending')
      .executeTakeFirst();
    const at = next?.at ? new Date(next.at as unknown as string | Date).getTime() : undefined;
    return at === undefined ? undefined : Math.max(0, at - clock().getTime());
  }

  async #attempt(row: Selectable<EmailDeliveriesTable>, attempt: number, at: Date): Promise<Attempt> {
    const { db, mailer, retry, publicUrl } = this.#options;
    const recipients = await recipientsOf(db, {
      audience: EmailAudience.parse(row.audience),
      addresses: row.addresses,
      tenantId: row.tenant_id,
    });
    const skipped = (error: string): Attempt => ({ outcome: 'skipped', error, recipients: 0, nextAttemptAt: null });
    if (mailer.mode === 'local') return skipped('no SMTP server is configured (AGENTPOD_SMTP_URL): not sent');
    if (recipients.length === 0) return skipped(`nobody to send it to (${row.audience} has no address)`);
    const { subject, text } = alertEmail(row.payload as EmailPayload, publicUrl);
    try {
      await mailer.send({ to: recipients.join(', '), subject, text });
      return { outcome: 'sent', error: null, recipients: recipients.length, nextAttemptAt: null };
    } catch (error) {
      const { outcome, nextAttemptAt } = attemptOutcome(retry, attempt, false, at);
      return {
        outcome: outcome === 'retrying' ? 'retrying' : 'failed',
        error: smtpError(error),
        recipients: recipients.length,
        nextAttemptAt,
      };
    }
  }

  async #deliver(row: Selectable<EmailDeliveriesTable>): Promise<void> {
    const { store, repos, clock, logger } = this.#options;
    const deliveryId = row.delivery_id;
    const loaded = await repos.emails.load(deliveryId);
    // The read model is behind the log: it will catch up, and this delivery is then not due (or due again).
    if (loaded.state.done || loaded.state.attempts !== row.attempts) return;
    const attempt = loaded.state.attempts + 1;
    const started = performance.now();
    const at = clock();
    const result = await this.#attempt(row, attempt, at);
    const meta: RequestMeta = {
      actor: systemActor('monitor'),
      correlationId: deliveryId,
      ...(row.tenant_id ? { tenantId: row.tenant_id } : {}),
    };
    try {
      const { stored } = await store.append(
        'monitor',
        deliveryId,
        [
          {
            type: 'EmailAttempted',
            ...(row.tenant_id ? { tenantId: row.tenant_id } : {}),
            data: {
              deliveryId,
              alertId: row.alert_id,
              tenantId: row.tenant_id,
              attempt,
              at: at.toISOString(),
              recipients: result.recipients,
              error: result.error,
              durationMs: Math.round(performance.now() - started),
              outcome: result.outcome,
              nextAttemptAt: result.nextAttemptAt?.toISOString() ?? null,
            },
          },
        ],
        { expected: loaded.position, meta, now: clock(), ids: [derivedEventId(deliveryId, String(attempt))] },
      );
      repos.emails.applyAppended(deliveryId, loaded, stored);
      const log = {
        deliveryId,
        alertId: row.alert_id,
        attempt,
        outcome: result.outcome,
        recipients: result.recipients,
      };
      if (result.outcome === 'sent') logger.info(log, 'alert email sent');
      else logger.warn({ ...log, error: result.error }, 'alert email not sent');
      await this.#options.caughtUp(stored[0]?.seq ?? 0);
    } catch (error) {
      if (error instanceof ConcurrencyError) return; // another sender recorded this attempt first
      throw error;
    }
  }
}
