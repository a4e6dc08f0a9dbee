/** Lifetimes and limits of identity's credentials. Constants, not configuration: the issue fixes them. */
export const LINK_TTL_MS = 10 * 60_000;
export const SESSION_TTL_MS = 30 * 86_400_000;
/** A session's sliding expiry moves at most this often, so requests do not each write an event. */
export const SESSION_RENEW_EVERY_MS = 60 * 60_000;
/** Sign-in links per email address per window. */
export const LINK_RATE_LIMIT = { max: 5, windowMs: 15 * 60_000 };
