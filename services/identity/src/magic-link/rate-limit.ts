import { AppError } from '@agentpod/contracts';

/**
 * The per-address limit on sign-in links: at most `max` issued within `windowMs`. `issuedAt` are the issue times
 * of this address's recent links (from the read model, shared by every replica). Returns the `rate_limited`
 * error to throw, saying when the oldest link in the window leaves it, or undefined when a link may be issued.
 */
export function linkRateLimit(
  issuedAt: readonly Date[],
  now: Date,
  limit: { max: number; windowMs: number },
): AppError | undefined {
  const windowStart = now.getTime() - limit.windowMs;
  const recent = issuedAt
    .map((date) => date.getTime())
    .filter((time) => time > windowStart)
    .sort((a, b) => a - b);
  if (recent.length < limit.max) return undefined;
  // The request may go through once enough of the recent links have aged out of the window.
  const freesAt = (recent[recent.length - limit.max] ?? now.getTime()) + limit.windowMs;
  const retryAfterSeconds = Math.max(1, Math.ceil((freesAt - now.getTime()) / 1000));
  return new AppError('rate_limited', `too many sign-in links for this address; try again in ${retryAfterSeconds} s`, {
    details: { retryAfterSeconds },
  });
}
