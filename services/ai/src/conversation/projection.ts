import { aiEvents, type EnvelopeOf } from '@agentpod/contracts';
import { eventsOf, type Projection } from '@agentpod/kit';
import { sql, type Transaction } from 'kysely';
import { type AiDb, jsonb } from '../db.ts';
import { SYSTEM_USER } from '../ids.ts';

/*
 * The ai read model of the AI stream: conversations and their messages (encrypted as in the log), token usage per
 * tenant, user and UTC day (every answer, stopped or failed ones included, counts as a request; the tokens are
 * what the provider reported), and the automatic diagnoses. Deterministic: a replay writes the same rows.
 */

type AiEvent = EnvelopeOf<typeof aiEvents>;
type Tx = Transaction<AiDb>;

/** Adds one request and its tokens to the tenant's, user's and day's row. */
async function count(
  tx: Tx,
  event: AiEvent,
  userId: string,
  usage: { promptTokens: number; completionTokens: number } | null,
) {
  const row = {
    tenant_id: event.tenantId ?? '',
    user_id: userId === SYSTEM_USER ? '' : userId,
    day: event.occurredAt.slice(0, 10),
    requests: 1,
    prompt_tokens: usage?.promptTokens ?? 0,
    completion_tokens: usage?.completionTokens ?? 0,
  };
  await tx
    .insertInto('usage')
    .values(row)
    .onConflict((c) =>
      c.columns(['tenant_id', 'user_id', 'day']).doUpdateSet({
        requests: sql`usage.requests + 1`,
        prompt_tokens: sql`usage.prompt_tokens + ${row.prompt_tokens}`,
        completion_tokens: sql`usage.completion_tokens + ${row.completion_tokens}`,
      }),
    )
    .execute();
}

async function applyEvent(tx: Tx, event: AiEvent): Promise<void> {
  switch (event.type) {
    case 'ConversationStarted': {
      const { data } = event;
      await tx
        .insertInto('conversations')
        .values({
          conversation_id: data.conversationId,
          tenant_id: data.tenantId,
          user_id: data.userId,
          title: jsonb(data.title),
          subject: jsonb(data.subject),
          created_at: event.occurredAt,
          updated_at: event.occurredAt,
        })
        .onConflict((c) => c.column('conversation_id').doNothing())
        .execute();
      return;
    }
    case 'MessageAdded': {
      const { data } = event;
      await tx
        .insertInto('messages')
        .values({
          message_id: data.messageId,
          conversation_id: data.conversationId,
          position: event.version,
          role: data.role,
          content: jsonb(data.content),
          usage: jsonb(data.usage),
          stopped: data.stopped,
          error: jsonb(data.error),
          created_at: event.occurredAt,
        })
        .onConflict((c) => c.column('message_id').doNothing())
        .execute();
      await tx
        .updateTable('conversations')
        .set({ updated_at: event.occurredAt })
        .where('conversation_id', '=', data.conversationId)
        .execute();
      if (data.role === 'assistant') await count(tx, event, data.userId, data.usage);
      return;
    }
    case 'ConversationDeleted':
      await tx.deleteFrom('messages').where('conversation_id', '=', event.data.conversationId).execute();
      await tx.deleteFrom('conversations').where('conversation_id', '=', event.data.conversationId).execute();
      return;
    case 'SpecGenerated':
      await count(tx, event, event.data.userId, event.data.usage);
      return;
    case 'DiagnosisAttached': {
      const { data } = event;
      await tx
        .insertInto('diagnoses')
        .values({
          tenant_id: data.tenantId,
          pod_id: data.podId,
          alert_cause_event_id: data.alertCauseEventId,
          conversation_id: data.conversationId,
          text: data.text,
          error: jsonb(data.error),
          commands: jsonb(data.commands),
          created_at: event.occurredAt,
        })
        .onConflict((c) => c.columns(['tenant_id', 'pod_id', 'alert_cause_event_id']).doNothing())
        .execute();
      return;
    }
    case 'TenantAiConfigured':
      // Read from the log when needed (the key stays there, encrypted); nothing to keep here.
      return;
    default: {
      const unknown: never = event;
      throw new Error(`unhandled ai event ${(unknown as { type: string }).type}`);
    }
  }
}

export const aiProjection: Projection<AiDb> = {
  name: 'ai',
  context: 'ai',
  async apply(tx, stored) {
    for (const event of eventsOf(aiEvents, stored)) await applyEvent(tx, event);
  },
};
