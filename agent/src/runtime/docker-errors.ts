import { AppError, type ErrorCode } from '@agentpod/contracts';

/** What docker-modem rejects with: Docker's status code and its JSON error body. */
type ModemError = Error & { statusCode?: number; json?: unknown; code?: string };

const BY_STATUS: Record<number, ErrorCode> = { 400: 'invalid', 404: 'not_found', 409: 'conflict', 503: 'unavailable' };
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EPIPE']);

export const statusOf = (error: unknown): number | undefined => (error as ModemError | undefined)?.statusCode;

/**
 * Docker's error as an AppError that says what was being done, in Docker's own words ("No such image: x:1"),
 * with a catalogue code the reconciler can act on.
 */
export function dockerError(error: unknown, doing: string): AppError {
  if (error instanceof AppError) return error;
  const e = error as ModemError;
  const body = e?.json;
  const said =
    typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string'
      ? body.message
      : typeof body === 'string' && body.trim()
        ? body.trim()
        : (e?.message ?? String(error));
  const code: ErrorCode =
    e?.name === 'AbortError' || e?.name === 'TimeoutError'
      ? 'timeout'
      : e?.code && UNREACHABLE.has(e.code)
        ? 'unavailable'
        : ((e?.statusCode ? BY_STATUS[e.statusCode] : undefined) ?? 'internal');
  const message = code === 'unavailable' && !e?.statusCode ? `Docker is not reachable (${said})` : said;
  return new AppError(code, `${doing}: ${message}`, { cause: error });
}
