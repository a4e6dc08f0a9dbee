import { z } from 'zod';

/**
 * The one catalogue of error codes. Every error that crosses a process boundary (NATS reply, HTTP response,
 * CLI output) carries exactly one of these.
 */
export const ErrorCode = z.enum([
  'invalid',
  'unauthenticated',
  'forbidden',
  'not_found',
  'conflict',
  'rate_limited',
  'unavailable',
  'timeout',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** The wire shape of an error: in NATS replies and, wrapped as `{ error }`, in HTTP responses. */
export const ErrorBody = z.object({
  code: ErrorCode,
  /** One sentence a person can act on; never a stack trace. */
  message: z.string(),
  /** Structured detail, e.g. the zod issues of an `invalid` input. */
  details: z.unknown().optional(),
  /** Set on `internal` errors so an operator can find the log line. */
  correlationId: z.string().optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** An error with a catalogue code. Services throw these; edges turn them into `ErrorBody`. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: { details?: unknown; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options.details;
  }

  toBody(): ErrorBody {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export const isAppError = (value: unknown): value is AppError => value instanceof AppError;

/** Turns zod issues into the `details` of an `invalid` error: a path and a message each, nothing else. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): { path: string; message: string }[] {
  return issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(root)',
    message: issue.message,
  }));
}

export function invalidInput(error: z.ZodError, what = 'input'): AppError {
  const details = describeIssues(error.issues);
  const first = details[0];
  const summary = first ? `${first.path}: ${first.message}` : 'does not match the schema';
  return new AppError('invalid', `invalid ${what}: ${summary}`, { details });
}
