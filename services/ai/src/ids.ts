import { derivedId, randomId } from '@agentpod/kit';

export { derivedEventId } from '@agentpod/kit';

/*
 * Ids of the ai service. Random where a person asks for something new (a conversation, a message, a
 * generation); derived from the cause where a redelivery or a replay must land on the same id (an automatic
 * diagnosis and everything it appends), so doing it again is recognised instead of repeated.
 */

export const newConversationId = (): string => randomId('cnv_');
export const newMessageId = (): string => randomId('msg_');
export const newGenerationId = (): string => randomId('gen_');

/** The conversation of the automatic diagnosis caused by one event, and its messages. */
export const diagnosisConversationId = (causeEventId: string): string => derivedId('cnv_', ['diagnosis', causeEventId]);
export const diagnosisMessageId = (causeEventId: string, role: string): string =>
  derivedId('msg_', ['diagnosis', causeEventId, role]);

/** A tenant's provider override. */
export const tenantConfigId = (tenantId: string): string => `aicfg_${tenantId}`;
/** A pod's automatic diagnoses. */
export const diagnosisSeriesId = (tenantId: string, podId: string): string => `diag_${tenantId}_${podId}`;

/** The cipher contexts (additional authenticated data): a ciphertext copied elsewhere does not decrypt. */
export const cipherContexts = {
  title: (conversationId: string) => `ai/conversation/${conversationId}/title`,
  message: (conversationId: string, messageId: string) => `ai/conversation/${conversationId}/message/${messageId}`,
  apiKey: (tenantId: string) => `ai/tenant/${tenantId}/api-key`,
};

/** The owner of automatic diagnoses' conversations: no user id looks like it, so nobody lists them as theirs. */
export const SYSTEM_USER = 'system';
