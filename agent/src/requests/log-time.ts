/*
 * Docker stamps log lines with RFC 3339 times in UTC with up to nine fraction digits and trailing zeros trimmed
 * ("…:56.1Z" comes after "…:56.09Z"), so they cannot be compared as strings.
 */

const STAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/;

/** [whole seconds since the epoch, nanoseconds], or undefined for anything that is not such a stamp. */
export function parseLogTime(time: string): [number, number] | undefined {
  const match = STAMP.exec(time);
  if (!match) return undefined;
  const seconds = Date.parse(`${match[1]}Z`) / 1000;
  if (!Number.isFinite(seconds)) return undefined;
  return [seconds, Number((match[2] ?? '').padEnd(9, '0'))];
}

/** Whether `time` is strictly later than `than`; an unreadable stamp counts as later (better twice than lost). */
export function isLaterLogTime(time: string, than: string): boolean {
  const a = parseLogTime(time);
  const b = parseLogTime(than);
  if (!a || !b) return true;
  return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
}

/** The whole second a stamp falls in, for Docker's `since` (whole seconds only). */
export function logTimeSecond(time: string): Date | undefined {
  const parsed = parseLogTime(time);
  return parsed ? new Date(parsed[0] * 1000) : undefined;
}
