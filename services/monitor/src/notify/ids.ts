import { createHash } from 'node:crypto';

/** The email delivery of one notified alert event (`eml_` and 24 hex digits): the same event, the same id. */
export const emailDeliveryIdFor = (eventId: string): string =>
  `eml_${createHash('sha256').update(`email\n${eventId}`).digest('hex').slice(0, 24)}`;
