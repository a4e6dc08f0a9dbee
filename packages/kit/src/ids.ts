import { createHash, randomInt } from 'node:crypto';

/*
 * Ids a service makes itself: random where a person asks for something new, derived from what caused them where a
 * retry, a redelivery or a replay must land on the same id, so doing it again is recognised instead of repeated.
 * Derived ids are stored (aggregate ids, JetStream Msg-Ids): their recipe never changes.
 */

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `prefix` and `length` random lower-case letters and digits (`whk_…`, `cnv_…`). */
export function randomId(prefix: string, length = 24): string {
  let id = prefix;
  for (let i = 0; i < length; i++) id += ALPHABET[randomInt(ALPHABET.length)];
  return id;
}

const digest = (parts: readonly string[]): Buffer => createHash('sha256').update(parts.join('\n')).digest();

/** `prefix` and 24 hex digits of SHA-256 over `parts`: the same parts, the same id. */
export const derivedId = (prefix: string, parts: readonly string[]): string =>
  prefix + digest(parts).toString('hex').slice(0, 24);

/**
 * An event id (a UUID, version 8: "custom") derived from `parts`; it is also the JetStream Msg-Id, so a publish
 * retried within the duplicate window is stored once.
 */
export function derivedEventId(...parts: string[]): string {
  const bytes = digest(['event', ...parts]).subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
