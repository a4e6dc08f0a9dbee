import { createHash, randomInt } from 'node:crypto';

/*
 * Ids of the monitor. Random where a person asks for something new (a webhook, a test ping); derived from what
 * caused them where a retry, a redelivery or a replay must land on the same id (an alert, an alert's deliveries,
 * every event the monitor appends on its own), so doing it again is recognised instead of repeated.
 */

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function random(prefix: string): string {
  let id = prefix;
  for (let i = 0; i < 24; i++) id += ALPHABET[randomInt(ALPHABET.length)];
  return id;
}

const digest = (parts: readonly string[]): Buffer => createHash('sha256').update(parts.join('\n')).digest();

/** `prefix` and 24 hex digits of SHA-256 over `parts`: the same parts, the same id. */
const derived = (prefix: string, parts: readonly string[]): string =>
  prefix + digest(parts).toString('hex').slice(0, 24);

export const newWebhookId = (): string => random('whk_');
export const newPingDeliveryId = (): string => random('dlv_');

/** The alert an event fires: one per causing event. */
export const alertIdFor = (sourceEventId: string): string => derived('alr_', ['alert', sourceEventId]);

/** The delivery of one alert event to one webhook. */
export const deliveryIdFor = (eventId: string, webhookId: string): string =>
  derived('dlv_', ['delivery', eventId, webhookId]);

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

/** The aggregate of one alert series: at most one of its alerts fires at a time. */
export const alertSeriesId = (kind: string, tenantId: string, podId: string): string =>
  `alert_${kind}_${tenantId}_${podId}`;
