import type { Matrix } from './fixtures.ts';
import type { Caller } from './policy.ts';
import type { Credential } from './world.ts';

/*
 * Conversations with the assistant for the conversation routes. A conversation is its user's alone, so each caller
 * reads and deletes one it started itself (asked through the API as that user; the viewer token acts for the
 * owner, so it reads the owner's). Callers with no access to acme are given the platform admin's: they must get
 * 404 for it, whatever it holds.
 */

/** The header a streamed answer names its conversation in (services/gateway/src/api/ai-routes.ts). */
const AI_CONVERSATION_HEADER = 'x-agentpod-conversation';

export type ConversationWorld = {
  /** A conversation of the caller's own user in acme (for the reads: the same one each time); its id. */
  own(caller: Caller): Promise<string>;
  /** A new conversation of the caller's own user in acme (to delete); its id. */
  fresh(caller: Caller): Promise<string>;
};

export function conversationWorld(m: Matrix): ConversationWorld {
  /** Whose conversation a caller reads: its own user's; the platform admin's for those with no way into acme. */
  const starter = (caller: Caller): Credential => {
    if (caller === 'viewerToken') return m.sessions.owner;
    if (caller === 'otherTenant' || caller === 'anonymous') return m.root;
    return m.session(caller) ?? m.root;
  };
  const start = async (as: Credential) => {
    const response = await m.world.call({
      method: 'POST',
      url: '/api/v1/tenants/acme/ai/ask',
      as,
      body: { message: `Is acme all right? (${m.unique('question')})` },
    });
    const id = response.headers[AI_CONVERSATION_HEADER];
    if (response.statusCode !== 200 || typeof id !== 'string') {
      throw new Error(`asking the assistant: ${response.statusCode} ${response.body}`);
    }
    return id;
  };
  const started = new Map<string, Promise<string>>();
  return {
    own(caller) {
      const as = starter(caller);
      const key = as.kind === 'session' ? as.userId : as.tokenId;
      let id = started.get(key);
      if (!id) {
        id = start(as);
        started.set(key, id);
      }
      return id;
    },
    fresh: (caller) => start(starter(caller)),
  };
}

/**
 * A streamed answer that succeeded must have ended with `done`: a 200 whose last line is an `error` (the provider
 * unreachable, the context not gathered) would pass the matrix without the assistant having answered.
 */
export function expectAnswered(response: { statusCode: number; body: string }): void {
  if (response.statusCode !== 200) return;
  const lines = response.body.trim().split('\n');
  const last = JSON.parse(lines.at(-1) ?? '{}') as { t?: string };
  if (last.t !== 'done') throw new Error(`the assistant did not finish its answer: ${response.body.slice(0, 400)}`);
}
