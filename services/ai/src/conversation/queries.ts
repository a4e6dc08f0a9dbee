import { AppError, type ChatMessageView, type ConversationView } from '@agentpod/contracts';
import type { Selectable } from 'kysely';
import type { ConversationsTable } from '../db.ts';
import type { AiDeps } from '../deps.ts';
import type { Owner } from './aggregate.ts';
import { openMessage, openTitle } from './store.ts';

/** The newest conversations listed; older ones stay readable by id. */
const LIST_LIMIT = 200;

function view(deps: AiDeps, row: Selectable<ConversationsTable>): ConversationView {
  return {
    id: row.conversation_id,
    tenantId: row.tenant_id,
    userId: row.user_id,
    title: openTitle(deps.keyring, row.conversation_id, row.title),
    subject: row.subject,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** The owner's conversations in the tenant, most recently active first (no messages). */
export async function listConversations(deps: AiDeps, owner: Owner): Promise<ConversationView[]> {
  const rows = await deps.runtime.db
    .selectFrom('conversations')
    .selectAll()
    .where('tenant_id', '=', owner.tenantId)
    .where('user_id', '=', owner.userId)
    .orderBy('updated_at', 'desc')
    .orderBy('conversation_id', 'desc')
    .limit(LIST_LIMIT)
    .execute();
  return rows.map((row) => view(deps, row));
}

/** One of the owner's conversations with its messages; anyone else's is not_found. */
export async function getConversation(deps: AiDeps, owner: Owner, conversationId: string): Promise<ConversationView> {
  const { db } = deps.runtime;
  const row = await db
    .selectFrom('conversations')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .where('tenant_id', '=', owner.tenantId)
    .where('user_id', '=', owner.userId)
    .executeTakeFirst();
  if (!row) throw new AppError('not_found', `tenant ${owner.tenantId} has no conversation ${conversationId} of yours`);
  const messages = await db
    .selectFrom('messages')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .orderBy('position')
    .execute();
  return {
    ...view(deps, row),
    messages: messages.map(
      (m): ChatMessageView => ({
        id: m.message_id,
        role: m.role,
        content: openMessage(deps.keyring, conversationId, m.message_id, m.content),
        usage: m.usage,
        stopped: m.stopped,
        error: m.error,
        createdAt: m.created_at.toISOString(),
      }),
    ),
  };
}
