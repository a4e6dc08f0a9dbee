import { AppError, type ErrorBody, type ErrorCode } from '@agentpod/contracts';

/*
 * Everything the CLI prints goes through here. With --json, stdout carries exactly one JSON document (or one
 * JSON object per line for streams) and nothing else; prompts and warnings always go to stderr.
 */

/** Exit codes, one per class of failure, so scripts can tell them apart. */
export const EXIT = {
  ok: 0,
  /** Anything else: conflict, unavailable, timeout, rate limited, internal, a failed check. */
  failure: 1,
  /** A bad command line or argument (locally, or the gateway's `invalid`). */
  usage: 2,
  /** No credential, or one the gateway refuses. */
  auth: 3,
  /** The thing does not exist, or is not yours (the API answers the same for both). */
  denied: 4,
  /** Stopped by Ctrl-C (128 + SIGINT). */
  interrupted: 130,
} as const;

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'invalid':
      return EXIT.usage;
    case 'unauthenticated':
      return EXIT.auth;
    case 'forbidden':
    case 'not_found':
      return EXIT.denied;
    case 'conflict':
    case 'rate_limited':
    case 'unavailable':
    case 'timeout':
    case 'internal':
      return EXIT.failure;
    default: {
      const unknown: never = code;
      return unknown;
    }
  }
}

export type Writer = { write(text: string): unknown };

/** Any thrown value as the error body the CLI reports. */
export function errorBody(error: unknown): ErrorBody {
  if (error instanceof AppError) return error.toBody();
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) };
}

// Control and format characters (escape sequences, bidi overrides) from the server never reach the terminal raw.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\p{Cf}]/gu;

/** Text made safe to print: every control or format character shown as \u{…}. */
export function clean(value: unknown): string {
  const text = value === undefined || value === null ? '-' : String(value);
  return text.replace(UNSAFE, (char) => `\\u{${char.codePointAt(0)?.toString(16)}}`);
}

/** Aligned columns, two spaces apart, no trailing blanks; a header row first. */
export function formatTable(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [headers.map((h) => h.toUpperCase()), ...rows.map((row) => headers.map((_, i) => clean(row[i])))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => [...(row[i] ?? '')].length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) =>
          i === row.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + cell.length - [...cell].length),
        )
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** `label  value` lines with the labels aligned; undefined values are left out. */
export function formatFields(fields: readonly (readonly [string, unknown])[]): string {
  const shown = fields.filter(([, value]) => value !== undefined);
  const width = Math.max(0, ...shown.map(([label]) => label.length));
  return shown.map(([label, value]) => `${label.padEnd(width)}  ${clean(value)}\n`).join('');
}

/** An ISO time without milliseconds; `-` when absent. */
export function formatTime(value: string | null | undefined): string {
  if (!value) return '-';
  return value.replace(/\.\d+(?=Z|[+-]\d\d:\d\d$)/, '');
}

export const yesNo = (value: boolean | undefined): string => (value === undefined ? '-' : value ? 'yes' : 'no');

export class Output {
  readonly json: boolean;
  readonly #stdout: Writer;
  readonly #stderr: Writer;

  constructor(stdout: Writer, stderr: Writer, json: boolean) {
    this.#stdout = stdout;
    this.#stderr = stderr;
    this.json = json;
  }

  /** The result of a command: `value` as JSON with --json, else the human text `human()` builds. */
  result(value: unknown, human: () => string): void {
    this.#stdout.write(this.json ? `${JSON.stringify(value, null, 2)}\n` : human());
  }

  /** One line of a stream: compact JSON with --json (NDJSON), else the human line. */
  streamLine(value: unknown, human: () => string): void {
    this.#stdout.write(this.json ? `${JSON.stringify(value)}\n` : `${human()}\n`);
  }

  /** A note for people (progress, hints): stderr, so --json stdout stays clean. */
  note(text: string): void {
    this.#stderr.write(`${text}\n`);
  }

  /** Reports a failure and returns its exit code. */
  fail(error: unknown): number {
    const body = errorBody(error);
    if (this.json) this.#stdout.write(`${JSON.stringify({ error: body }, null, 2)}\n`);
    else this.#stderr.write(`agentpod: ${clean(body.message)}\n`);
    return exitCodeFor(body.code);
  }
}
