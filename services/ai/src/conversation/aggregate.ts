import {
  type AiSubject,
  AppError,
  aiEvents,
  type Encrypted,
  type ErrorBody,
  type EventOf,
  type Usage,
} from '@agentpod/contracts';
import type { AggregateDefinition } from '@agentpod/kit';

/*
 * A conversation (`ai.evt.cnv_…`): started by one user in one tenant about a subject, then messages, then maybe
 * deleted. It belongs to that user alone: anyone else (another user of the tenant, another tenant) finds nothing
 * (`not_found`), exactly as for a conversation that never existed. Pure.
 */

const { ConversationStarted, MessageAdded, ConversationDeleted } = aiEvents;
export const conversationEvents = { ConversationStarted, MessageAdded, ConversationDeleted };

export type StoredMessage = { messageId: string; role: 'user' | 'assistant'; content: Encrypted };

export type Conversation =
  | { status: 'none' }
  | {
      status: 'live' | 'deleted';
      conversationId: string;
      tenantId: string;
      userId: string;
      subject: AiSubject;
      messages: StoredMessage[];
    };

export const conversationAggregate: AggregateDefinition<Conversation, typeof conversationEvents> = {
  context: 'ai',
  events: conversationEvents,
  initialState: { status: 'none' },
  evolve(state, event) {
    switch (event.type) {
      case 'ConversationStarted': {
        const { conversationId, tenantId, userId, subject } = event.data;
        return { status: 'live', conversationId, tenantId, userId, subject, messages: [] };
      }
      case 'MessageAdded': {
        if (state.status === 'none') return state;
        const { messageId, role, content } = event.data;
        return { ...state, messages: [...state.messages, { messageId, role, content }] };
      }
      case 'ConversationDeleted':
        return state.status === 'none' ? state : { ...state, status: 'deleted', messages: [] };
      default: {
        const unknown: never = event;
        throw new Error(`unhandled conversation event ${(unknown as { type: string }).type}`);
      }
    }
  },
};

type ConversationEvent = EventOf<typeof conversationEvents>;
export type Owner = { tenantId: string; userId: string };
type Live = Extract<Conversation, { status: 'live' | 'deleted' }> & { status: 'live' };

/** The conversation if `owner` owns it and it is not deleted; else the same not_found as for no conversation. */
export function owned(state: Conversation, owner: Owner, conversationId: string): Live | AppError {
  if (state.status !== 'live' || state.tenantId !== owner.tenantId || state.userId !== owner.userId) {
    return new AppError('not_found', `tenant ${owner.tenantId} has no conversation ${conversationId} of yours`);
  }
  return { ...state, status: 'live' };
}

export type Start = Owner & { conversationId: string; title: Encrypted; subject: AiSubject };

export function decideStart(state: Conversation, start: Start): ConversationEvent[] | AppError {
  if (state.status !== 'none') return new AppError('conflict', `conversation ${start.conversationId} exists already`);
  return [{ type: 'ConversationStarted', tenantId: start.tenantId, data: start }];
}

export type NewMessage = {
  messageId: string;
  role: 'user' | 'assistant';
  content: Encrypted;
  usage: Usage | null;
  stopped: boolean;
  error: ErrorBody | null;
  model: string | null;
};

/** A message in the owner's live conversation; a second message with the same id adds nothing (a retry). */
export function decideAddMessage(
  state: Conversation,
  owner: Owner,
  conversationId: string,
  message: NewMessage,
): ConversationEvent[] | AppError {
  const live = owned(state, owner, conversationId);
  if (live instanceof AppError) return live;
  if (live.messages.some((m) => m.messageId === message.messageId)) return [];
  return [{ type: 'MessageAdded', tenantId: owner.tenantId, data: { conversationId, ...owner, ...message } }];
}

export function decideDelete(
  state: Conversation,
  owner: Owner,
  conversationId: string,
): ConversationEvent[] | AppError {
  const live = owned(state, owner, conversationId);
  if (live instanceof AppError) return live;
  return [{ type: 'ConversationDeleted', tenantId: owner.tenantId, data: { conversationId, ...owner } }];
}

/** A conversation's title: its first question, on one line, cut to 80 characters. */
export function titleOf(question: string): string {
  const line = question.replace(/\s+/g, ' ').trim();
  return line.length <= 80 ? line : `${line.slice(0, 79)}…`;
}
