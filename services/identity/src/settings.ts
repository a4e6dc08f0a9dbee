/** Lifetimes and limits of identity's credentials. Constants, not configuration: the issue fixes them. */
export const LINK_TTL_MS = 10 * 60_000;
export const SESSION_TTL_MS = 30 * 86_400_000;
/** A session's sliding expiry moves at most this often, so requests do not each write an event. */
export const SESSION_RENEW_EVERY_MS = 60 * 60_000;
/**
 * Sign-in link requests per email address per window, counted whether or not the address has an account
 * (magic-link/request-log.ts).
 */
export const LINK_RATE_LIMIT = { max: 5, windowMs: 15 * 60_000 };
/** Sign-in emails go out after the reply: three tries in all, about 0.5 s and 2 s apart. */
export const SIGN_IN_MAIL_RETRY = { attempts: 3, backoff: { initialMs: 500, maxMs: 5_000, factor: 4, jitter: 0.2 } };
/**
 * How long shutdown waits for emails still being sent. Bounded because an SMTP server that accepts the
 * connection and then stalls would otherwise hold a stopping process for minutes (nodemailer's own timeouts).
 */
export const SHUTDOWN_MAIL_WAIT_MS = 30_000;
