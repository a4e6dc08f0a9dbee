import type { AiSubject, ConversationView } from '@agentpod/contracts';
import { api, messageOf } from '../api.ts';
import { streamAnswer } from './stream.ts';
import { answerTurn, endTurn, foldChunk, type Turn, turnFromView, userTurn } from './turn.ts';

/*
 * The panel's conversations in one tenant: the caller's list, the open one (or a new one not sent yet), and the
 * answer being streamed into it. One answer streams at a time; Stop aborts its request (the gateway then stops
 * the provider's). Part of the panel's lazy chunk; kept in a module so closing the panel keeps the conversation
 * and an answer keeps streaming while the panel is closed.
 */

const path = (tenant: string, rest = '') => `/tenants/${encodeURIComponent(tenant)}${rest}`;

class Chat {
  tenant = $state('');
  conversations = $state.raw<ConversationView[]>([]);
  loadingList = $state(false);
  /** The open conversation; null for a new one (nothing sent yet, or the gateway did not name it). */
  conversationId = $state<string | null>(null);
  /** What the open conversation is about (a new one: set when its first message is sent). */
  subject = $state.raw<AiSubject>({ kind: 'none' });
  turns = $state.raw<Turn[]>([]);
  streaming = $state(false);
  /** Loading or deleting went wrong (answers show their own errors). */
  problem = $state('');
  #abort: AbortController | null = null;
  /** Bumped whenever what the panel shows changes, so a late answer to an older request is dropped. */
  #view = 0;
  #keys = 0;

  get fresh(): boolean {
    return this.conversationId === null && this.turns.length === 0;
  }

  /** Follows the page and the switcher: another non-empty tenant closes what is open and lists its conversations. */
  follow(tenant: string): void {
    if (!tenant || tenant === this.tenant) return;
    this.stop();
    this.tenant = tenant;
    this.conversations = [];
    this.#reset();
    void this.loadList();
  }

  async loadList(): Promise<void> {
    const tenant = this.tenant;
    if (!tenant) return;
    this.loadingList = true;
    try {
      const { conversations } = await api<{ conversations: ConversationView[] }>(
        'GET',
        path(tenant, '/ai/conversations'),
      );
      if (tenant !== this.tenant) return;
      this.conversations = [...conversations].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
    } catch (error) {
      if (tenant === this.tenant) this.problem = `The conversations could not be loaded: ${messageOf(error)}`;
    } finally {
      if (tenant === this.tenant) this.loadingList = false;
    }
  }

  newConversation(): void {
    if (!this.streaming) this.#reset();
  }

  #reset(): void {
    this.#view += 1;
    this.conversationId = null;
    this.subject = { kind: 'none' };
    this.turns = [];
    this.problem = '';
  }

  async open(conversationId: string): Promise<void> {
    if (this.streaming) return;
    const view = ++this.#view;
    this.problem = '';
    try {
      const conversation = await api<ConversationView>(
        'GET',
        path(this.tenant, `/ai/conversations/${encodeURIComponent(conversationId)}`),
      );
      if (view !== this.#view) return;
      this.conversationId = conversation.id;
      this.subject = conversation.subject;
      this.turns = (conversation.messages ?? []).map(turnFromView);
    } catch (error) {
      if (view === this.#view) this.problem = `The conversation could not be opened: ${messageOf(error)}`;
    }
  }

  async remove(conversationId: string): Promise<void> {
    await api('DELETE', path(this.tenant, `/ai/conversations/${encodeURIComponent(conversationId)}`));
    this.conversations = this.conversations.filter((conversation) => conversation.id !== conversationId);
    if (this.conversationId === conversationId) {
      this.stop();
      this.#reset();
    }
  }

  /** Sends a message: into the open conversation, or a new one about `subject`. */
  async send(message: string, subject: AiSubject): Promise<void> {
    const text = message.trim();
    if (!text || this.streaming || !this.tenant) return;
    if (this.fresh) this.subject = subject;
    const body = {
      message: text,
      subject: this.subject,
      ...(this.conversationId ? { conversationId: this.conversationId } : {}),
    };
    await this.#answer(path(this.tenant, '/ai/ask'), body, text);
  }

  /** A diagnosis of a pod, streamed into a new conversation (what is open stays in the list). */
  async diagnose(tenantId: string, podId: string): Promise<void> {
    this.stop();
    this.follow(tenantId);
    this.#reset();
    this.subject = { kind: 'pod', tenantId, podId };
    await this.#answer(
      path(tenantId, `/pods/${encodeURIComponent(podId)}/diagnose`),
      undefined,
      `Diagnose ${tenantId}/${podId}`,
    );
  }

  stop(): void {
    this.#abort?.abort();
  }

  async #answer(route: string, body: unknown, shown: string): Promise<void> {
    const view = this.#view;
    const abort = new AbortController();
    this.#abort = abort;
    this.streaming = true;
    this.problem = '';
    const key = `local-${++this.#keys}`;
    this.turns = [...this.turns, userTurn(`${key}-q`, shown), answerTurn(key)];
    const update = (change: (turn: Turn) => Turn) => {
      if (view === this.#view) this.turns = this.turns.map((turn) => (turn.key === key ? change(turn) : turn));
    };
    try {
      const end = await streamAnswer(route, {
        body,
        signal: abort.signal,
        onStart: (conversationId) => {
          if (view === this.#view && conversationId) this.conversationId = conversationId;
        },
        onChunk: (chunk) => update((turn) => foldChunk(turn, chunk)),
      });
      if (end !== 'finished') update((turn) => endTurn(turn, end));
    } finally {
      // A newer answer (a diagnosis asked for meanwhile) owns the flag by now.
      if (this.#abort === abort) {
        this.#abort = null;
        this.streaming = false;
      }
      void this.loadList();
    }
  }
}

export const chat = new Chat();
