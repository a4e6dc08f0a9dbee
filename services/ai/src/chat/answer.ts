import {
  type AiSubject,
  AppError,
  type NodeView,
  type PodView,
  type RequestMeta,
  type SuggestedCommand,
  systemActor,
  type Usage,
} from '@agentpod/contracts';
import type { CommandOutcome, Keyring } from '@agentpod/kit';
import type { z } from 'zod';
import { providerFor } from '../config/resolve.ts';
import { gatherNode, gatherPod, readNode, readPod } from '../context/gather.ts';
import { buildPrompt } from '../context/prompt.ts';
import { redactor } from '../context/redact.ts';
import { type ContextText, renderNode, renderPod } from '../context/render.ts';
import { type Conversation, decideAddMessage, type Owner } from '../conversation/aggregate.ts';
import { onConversation, openMessage, sealMessage } from '../conversation/store.ts';
import type { AiDeps } from '../deps.ts';
import { type ChatMessage, type ChatOutcome, streamChat } from '../provider/chat.ts';
import { suggestedCommands } from './commands.ts';

/*
 * One answer, from the question to the stored message: gather the subject's context (as the caller), redact,
 * build the prompt, stream it from the provider, store what came back (the part before a stop or failure too)
 * with the provider's token counts. Used by `ask`/`diagnose` (which relay the deltas on NATS) and by the
 * automatic diagnosis of failing pods (which does not).
 */

/** What a question is about, resolved with the caller's rights (so a pod they may not read fails here). */
export type Target = { kind: 'none' } | { kind: 'pod'; pod: PodView } | { kind: 'node'; node: NodeView };

export async function resolveTarget(deps: AiDeps, subject: AiSubject, meta: RequestMeta): Promise<Target> {
  const { runtime } = deps;
  const io = { nc: runtime.nc, js: runtime.js, clock: runtime.clock };
  switch (subject.kind) {
    case 'none':
      return { kind: 'none' };
    case 'pod':
      return { kind: 'pod', pod: await readPod(io, subject.tenantId, subject.podId, meta) };
    case 'node':
      return { kind: 'node', node: await readNode(io, subject.nodeId, meta) };
    default: {
      const unknown: never = subject;
      throw new Error(`unknown subject ${JSON.stringify(unknown)}`);
    }
  }
}

async function contextOf(
  deps: AiDeps,
  target: Target,
  meta: RequestMeta,
): Promise<{ context: ContextText | null; secrets: string[] }> {
  const io = { nc: deps.runtime.nc, js: deps.runtime.js, clock: deps.runtime.clock };
  switch (target.kind) {
    case 'none':
      return { context: null, secrets: [] };
    case 'pod': {
      const { facts, secrets } = await gatherPod(io, target.pod, meta);
      return { context: renderPod(facts), secrets };
    }
    case 'node': {
      const { facts, secrets } = await gatherNode(io, target.node, meta);
      return { context: renderNode(facts), secrets };
    }
    default: {
      const unknown: never = target;
      throw new Error(`unknown target ${JSON.stringify(unknown)}`);
    }
  }
}

/** The conversation's messages before the last one (the question being answered), decrypted. */
export function historyOf(keyring: Keyring, state: Conversation): ChatMessage[] {
  if (state.status !== 'live') return [];
  return state.messages
    .slice(0, -1)
    .map((m) => ({ role: m.role, content: openMessage(keyring, state.conversationId, m.messageId, m.content) }));
}

export type AnswerInput = {
  owner: Owner;
  conversationId: string;
  /** The assistant message's id (already told to the caller). */
  messageId: string;
  question: string;
  history: ChatMessage[];
  target: Target;
  /** The caller's meta: the context is gathered with their rights. */
  meta: RequestMeta;
  signal: AbortSignal;
  onDelta?: (text: string) => void;
  /** A JSON-only answer (spec generation). */
  json?: boolean;
};

export type Answer = {
  text: string;
  usage: Usage;
  stopped: boolean;
  error: AppError | null;
  commands: z.infer<typeof SuggestedCommand>[];
  model: string | null;
  stored: CommandOutcome<Conversation>;
};

const NO_USAGE: Usage = { promptTokens: 0, completionTokens: 0 };

export async function answer(deps: AiDeps, input: AnswerInput): Promise<Answer> {
  const { owner, conversationId, messageId } = input;
  const budget = deps.runtime.config.AGENTPOD_AI_CONTEXT_CHARS;
  const outcome = await completeWithContext(deps, owner.tenantId, input, budget);
  const usage = outcome.usage ?? NO_USAGE;
  const meta: RequestMeta = {
    actor: systemActor('ai'),
    correlationId: input.meta.correlationId,
    tenantId: owner.tenantId,
  };
  const stored = await onConversation(deps, conversationId, meta, (state) =>
    decideAddMessage(state, owner, conversationId, {
      messageId,
      role: 'assistant',
      content: sealMessage(deps.keyring, conversationId, messageId, outcome.text),
      usage: outcome.usage,
      stopped: outcome.stopped,
      error: outcome.error ? outcome.error.toBody() : null,
      model: outcome.model,
    }),
  );
  return {
    text: outcome.text,
    usage,
    stopped: outcome.stopped,
    error: outcome.error,
    commands: suggestedCommands(outcome.text),
    model: outcome.model,
    stored,
  };
}

async function completeWithContext(
  deps: AiDeps,
  tenantId: string,
  input: AnswerInput,
  budget: number,
): Promise<ChatOutcome & { model: string | null }> {
  let model: string | null = null;
  try {
    const [{ context, secrets }, provider] = await Promise.all([
      contextOf(deps, input.target, input.meta),
      providerFor(deps, tenantId),
    ]);
    model = provider.model;
    const messages = buildPrompt({
      history: input.history,
      question: input.question,
      context,
      budget,
      redact: redactor(secrets),
    });
    const outcome = await streamChat(provider, messages, {
      signal: input.signal,
      ...(input.onDelta ? { onDelta: input.onDelta } : {}),
      ...(input.json ? { json: true } : {}),
    });
    return { ...outcome, model };
  } catch (error) {
    if (!(error instanceof AppError)) deps.runtime.logger.error({ err: error }, 'an answer failed');
    const appError =
      error instanceof AppError
        ? error
        : new AppError('internal', 'the assistant failed; the service log has the details');
    return {
      text: '',
      usage: null,
      stopped: input.signal.aborted,
      error: input.signal.aborted ? null : appError,
      httpStatus: null,
      model,
    };
  }
}
