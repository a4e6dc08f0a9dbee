import type { Logger } from '@agentpod/kit';

export type RecordedLine = { level: string; message: string; fields: Record<string, unknown> };

/** A logger that keeps its lines for assertions (what an operator would read), printing nothing. */
export function recordingLogger(): { logger: Logger; lines: RecordedLine[]; messages: () => string[] } {
  const lines: RecordedLine[] = [];
  const at =
    (level: string) =>
    (first: unknown, second?: unknown): void => {
      const message = typeof first === 'string' ? first : typeof second === 'string' ? second : '';
      const fields = typeof first === 'object' && first !== null ? (first as Record<string, unknown>) : {};
      lines.push({ level, message, fields });
    };
  const logger = {
    level: 'debug',
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    isLevelEnabled: () => true,
    child: () => logger,
  };
  return { logger: logger as unknown as Logger, lines, messages: () => lines.map((line) => line.message) };
}
