import { derivedId, randomId } from '@agentpod/kit';

export { derivedEventId } from '@agentpod/kit';

/*
 * Ids of the monitor. Random where a person asks for something new (a webhook, a test ping); derived from what
 * caused them where a retry, a redelivery or a replay must land on the same id (an alert, an alert's deliveries,
 * every event the monitor appends on its own), so doing it again is recognised instead of repeated.
 */

export const newWebhookId = (): string => randomId('whk_');
export const newPingDeliveryId = (): string => randomId('dlv_');

/** The alert an event fires: one per causing event. */
export const alertIdFor = (sourceEventId: string): string => derivedId('alr_', ['alert', sourceEventId]);

/** The delivery of one alert event to one webhook. */
export const deliveryIdFor = (eventId: string, webhookId: string): string =>
  derivedId('dlv_', ['delivery', eventId, webhookId]);

/** The aggregate of one alert series: at most one of its alerts fires at a time. */
export const alertSeriesId = (kind: string, tenantId: string, podId: string): string =>
  `alert_${kind}_${tenantId}_${podId}`;
