import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '@agentpod/contracts';
import { type Backoff, type Logger, type Mail, type Mailer, retry } from '@agentpod/kit';

/**
 * Emails sent after the reply, so that how long a request takes says nothing about whether an email went out
 * (and so whether the address has an account). A failed send is retried with backoff, then given up and logged;
 * the requester can ask again. `drain` waits for every send under way; shutdown awaits it, so stopping the
 * service (SIGTERM, a test's stop) does not lose an email it already promised.
 */
export type MailQueue = {
  /** Starts sending `mail` in the background. `kind` names it in log lines, which never hold its address or text. */
  send(mail: Mail, kind: string): void;
  /** Resolves once no send is under way (including those started while waiting), or after `timeoutMs`. */
  drain(timeoutMs: number): Promise<void>;
};

export function createMailQueue(options: {
  mailer: Mailer;
  logger: Logger;
  /** Tries per email, the first included. */
  attempts: number;
  backoff: Backoff;
}): MailQueue {
  const { mailer, logger, attempts, backoff } = options;
  const underWay = new Set<Promise<void>>();
  return {
    send(mail, kind) {
      const sending: Promise<void> = retry(() => mailer.send(mail), {
        ...backoff,
        attempts,
        onRetry: (error, attempt, delayMs) =>
          logger.warn({ kind, attempt: attempt + 1, delayMs, err: smtpFailure(error) }, 'email not sent; retrying'),
      })
        .then(
          () => undefined,
          (error: unknown) => {
            logger.error({ kind, attempts, err: smtpFailure(error) }, 'email could not be sent; gave up');
          },
        )
        .finally(() => underWay.delete(sending));
      underWay.add(sending);
    },
    async drain(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (underWay.size > 0) {
        const left = deadline - Date.now();
        if (left <= 0) {
          logger.error({ unsent: underWay.size }, 'stopping with emails still being sent; they are lost');
          return;
        }
        const timer = new AbortController();
        await Promise.race([
          Promise.allSettled([...underWay]),
          sleep(left, undefined, { signal: timer.signal }).catch(() => undefined),
        ]);
        timer.abort();
      }
    },
  };
}

/**
 * What a failed send may log: codes only. Never the message: an SMTP server's reply (which nodemailer appends to
 * it) can echo the recipient's address.
 */
export function smtpFailure(error: unknown): Record<string, string | number> {
  const failure: Record<string, string | number> = {};
  const cause = error instanceof AppError ? error.cause : error;
  if (error instanceof AppError) failure.code = error.code;
  if (cause instanceof Error) {
    failure.name = cause.name;
    const { code, command, responseCode } = cause as { code?: unknown; command?: unknown; responseCode?: unknown };
    if (typeof code === 'string') failure.smtpCode = code;
    if (typeof command === 'string') failure.command = command;
    if (typeof responseCode === 'number') failure.responseCode = responseCode;
  }
  return failure;
}
