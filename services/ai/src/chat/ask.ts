import { type AiStreamChunk, type AiSubject, AppError, aiStreamSubjects, type RequestMeta } from '@agentpod/contracts';
import { toErrorBody } from '@agentpod/kit';
import { decideAddMessage, decideStart, type Owner, owned, titleOf } from '../conversation/aggregate.ts';
import { onConversation, sealMessage, sealTitle, settle } from '../conversation/store.ts';
import type { AiDeps } from '../deps.ts';
import { newConversationId, newMessageId } from '../ids.ts';
import { answer, historyOf, resolveTarget, type Target } from './answer.ts';
import { DeltaBatcher } from './batcher.ts';

/*
 * `ask` and `diagnose`: the command stores the question and answers `{ conversationId, messageId }` at once; the
 * answer then streams as AiStreamChunk messages on `ai.stream.<streamId>` (the gateway subscribed before it sent
 * the command): `delta`s batched, then one `done` (stored message, usage, suggested commands) or `error`. A `{}` on
 * `ai.stream.<streamId>.stop` aborts the upstream request; the part already received is stored, `done` says
 * `stopped`. Whatever fails, the stream ends with `error` (a clear message), never silence.
 */

export const DIAGNOSE_QUESTION = 'What is wrong with this pod and how do I fix it?';

/** Answers one user may have streaming at once (per replica): a client that loops cannot run up a bill. */
const MAX_STREAMS_PER_USER = 4;

export type AskRequest = {
  owner: Owner;
  streamId: string;
  conversationId?: string;
  subject: AiSubject;
  question: string;
  meta: RequestMeta;
};

export class Asker {
  readonly #deps: AiDeps;
  readonly #streams = new Map<string, number>();
  readonly #running = new Set<Promise<void>>();

  constructor(deps: AiDeps) {
    this.#deps = deps;
  }

  /** Stores the question and starts the answer; resolves with the ids once the question is stored. */
  async ask(request: AskRequest): Promise<{ conversationId: string; messageId: string }> {
    const deps = this.#deps;
    const { owner, meta } = request;
    let conversationId = request.conversationId;
    let subject = request.subject;
    if (conversationId !== undefined) {
      const live = owned((await deps.repos.conversations.load(conversationId)).state, owner, conversationId);
      if (live instanceof AppError) throw live;
      // A conversation stays about what it started about.
      subject = live.subject;
    } else if (subject.kind === 'pod' && subject.tenantId !== owner.tenantId) {
      throw new AppError('invalid', `a conversation in ${owner.tenantId} can only be about that tenant's pods`);
    }
    const target = await resolveTarget(deps, subject, meta);
    const userId = owner.userId;
    const active = this.#streams.get(userId) ?? 0;
    if (active >= MAX_STREAMS_PER_USER) {
      throw new AppError('rate_limited', `you have ${active} answers streaming already; wait for one or stop it`);
    }
    this.#streams.set(userId, active + 1);
    try {
      const id = conversationId ?? newConversationId();
      conversationId = id;
      if (request.conversationId === undefined) {
        await onConversation(deps, id, meta, (state) =>
          decideStart(state, {
            ...owner,
            conversationId: id,
            subject,
            title: sealTitle(deps.keyring, id, titleOf(request.question)),
          }),
        );
      }
      const questionId = newMessageId();
      const stored = await onConversation(deps, id, meta, (state) =>
        decideAddMessage(state, owner, id, {
          messageId: questionId,
          role: 'user',
          content: sealMessage(deps.keyring, id, questionId, request.question),
          usage: null,
          stopped: false,
          error: null,
          model: null,
        }),
      );
      const messageId = newMessageId();
      // Listening for Stop before the reply: a Stop sent right after it is not missed.
      const controller = new AbortController();
      const stop = deps.runtime.nc.subscribe(aiStreamSubjects.stop(request.streamId), {
        max: 1,
        callback: () => controller.abort(),
      });
      const run = this.#stream({
        ...request,
        conversationId: id,
        messageId,
        target,
        history: historyOf(deps.keyring, stored.state),
        signal: AbortSignal.any([controller.signal, deps.shutdown]),
      }).finally(() => {
        stop.unsubscribe();
        this.#release(userId);
        this.#running.delete(run);
      });
      this.#running.add(run);
      return { conversationId: id, messageId };
    } catch (error) {
      this.#release(userId);
      throw error;
    }
  }

  /** Waits for the answers in flight (the service stopping aborted them already). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#running]);
  }

  #release(userId: string): void {
    const left = (this.#streams.get(userId) ?? 1) - 1;
    if (left <= 0) this.#streams.delete(userId);
    else this.#streams.set(userId, left);
  }

  async #stream(
    job: AskRequest & {
      conversationId: string;
      messageId: string;
      target: Target;
      history: ReturnType<typeof historyOf>;
      signal: AbortSignal;
    },
  ): Promise<void> {
    const deps = this.#deps;
    const { nc, logger } = deps.runtime;
    const subject = aiStreamSubjects.chunks(job.streamId);
    const publish = (chunk: AiStreamChunk) => nc.publish(subject, JSON.stringify(chunk));
    const batcher = new DeltaBatcher((text) => publish({ t: 'delta', text }));
    try {
      const result = await answer(deps, {
        owner: job.owner,
        conversationId: job.conversationId,
        messageId: job.messageId,
        question: job.question,
        history: job.history,
        target: job.target,
        meta: job.meta,
        signal: job.signal,
        onDelta: (text) => batcher.push(text),
      });
      batcher.flush();
      // The console reloads the conversation on `done`: it must find the answer there.
      await settle(deps, result.stored).catch(() => {});
      if (result.error) publish({ t: 'error', error: result.error.toBody() });
      else {
        publish({
          t: 'done',
          messageId: job.messageId,
          usage: result.usage,
          stopped: result.stopped,
          commands: result.commands,
        });
      }
    } catch (error) {
      batcher.flush();
      if (!(error instanceof AppError)) logger.error({ err: error, streamId: job.streamId }, 'an answer failed');
      publish({ t: 'error', error: toErrorBody(error, job.meta.correlationId) });
    }
  }
}
