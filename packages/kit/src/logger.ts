import { trace } from '@opentelemetry/api';
import { type LevelWithSilent, type Logger, pino } from 'pino';
import { currentContext } from './request-context.ts';

export type { Logger } from 'pino';

/**
 * JSON logs, one line each, carrying the correlation id of the request being handled and the trace id of
 * the active span, so a line can be joined to its request across services.
 */
export function createLogger(service: string, level: LevelWithSilent = 'info'): Logger {
  return pino({
    name: service,
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const context = currentContext();
      const span = trace.getActiveSpan()?.spanContext();
      return {
        ...(context ? { correlationId: context.correlationId } : {}),
        ...(span ? { traceId: span.traceId, spanId: span.spanId } : {}),
      };
    },
  });
}
