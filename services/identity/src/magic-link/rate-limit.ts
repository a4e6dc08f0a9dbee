import { AppError } from '@agentpod/contracts';

/**
 * The per-address limit on sign-in link requests: at most `max` within `windowMs`. `requestedAt` are the times
 * of this address's recent admitted requests (request-log.ts, shared by every replica). Returns the
 * `rate_limited` error to throw, saying when the oldest request in the window leaves it, or undefined when the
 * request may go through.
 */
export function linkRateLimit(
  requestedAt: readonly Date[],
  now: Date,
  limit: { max: number; windowMs: number },
): AppError | undefined {
  const windowStart = now.getTime() - limit.windowMs;
  const recent = requestedAt
    .map((date) => date.getTime())
    .filter((time) => time > windowStart)
    .sort((a, b) => a - b);
  if (recent.length < limit.max) return undefined;
  // The request may go through once enough of the recent requests have aged out of the window.
  const freesAt = (recent[recent.length - limit.max] ?? now.getTime()) + limit.windowMs;
  const retryAfterSeconds = Math.max(1, Math.ceil((freesAt - now.getTime()) / 1000));
  return new AppError(
    'rate_limited',
    `too many sign-in link requests for this address; try again in ${retryAfterSeconds} s`,
    {
      details: { retryAfterSeconds },
    },
  );
}
