import type { Encrypted, RequestMeta } from '@agentpod/contracts';
import {
  type CommandOutcome,
  type Decision,
  decrypt,
  encrypt,
  executeCommand,
  type Keyring,
  type StoredEvent,
} from '@agentpod/kit';
import type { AiDeps } from '../deps.ts';
import { cipherContexts } from '../ids.ts';
import type { Conversation, conversationEvents } from './aggregate.ts';

/** Load → decide → append on one conversation, retried on a concurrent write. */
export function onConversation(
  deps: AiDeps,
  conversationId: string,
  meta: RequestMeta,
  decide: (state: Conversation) => Decision<typeof conversationEvents>,
): Promise<CommandOutcome<Conversation>> {
  const { store, clock } = deps.runtime;
  return executeCommand({
    store,
    repository: deps.repos.conversations,
    aggregateId: conversationId,
    meta,
    decide,
    clock,
  });
}

/** Read-your-writes: the read model holds what was appended before the caller hears of it. */
export async function settle(deps: AiDeps, outcome: { events: readonly StoredEvent[] }): Promise<void> {
  const seq = Math.max(0, ...outcome.events.map((event) => event.seq));
  if (seq > 0) await deps.runtime.caughtUp('ai', seq);
}

export const sealMessage = (keyring: Keyring, conversationId: string, messageId: string, text: string): Encrypted =>
  encrypt(keyring, text, cipherContexts.message(conversationId, messageId));
export const openMessage = (keyring: Keyring, conversationId: string, messageId: string, value: Encrypted): string =>
  decrypt(keyring, value, cipherContexts.message(conversationId, messageId));
export const sealTitle = (keyring: Keyring, conversationId: string, title: string): Encrypted =>
  encrypt(keyring, title, cipherContexts.title(conversationId));
export const openTitle = (keyring: Keyring, conversationId: string, value: Encrypted): string =>
  decrypt(keyring, value, cipherContexts.title(conversationId));
