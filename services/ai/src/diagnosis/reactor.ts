import { AppError, type RequestMeta, reconcilerEvents, systemActor } from '@agentpod/contracts';
import { ConcurrencyError, type Projection, type StoredEvent } from '@agentpod/kit';
import { answer } from '../chat/answer.ts';
import { DIAGNOSE_QUESTION } from '../chat/ask.ts';
import { readPod } from '../context/gather.ts';
import { decideAddMessage, decideStart, titleOf } from '../conversation/aggregate.ts';
import { onConversation, sealMessage, sealTitle } from '../conversation/store.ts';
import type { AiDb } from '../db.ts';
import type { AiDeps } from '../deps.ts';
import { derivedEventId, diagnosisConversationId, diagnosisMessageId, diagnosisSeriesId, SYSTEM_USER } from '../ids.ts';
import { shouldDiagnose } from './aggregate.ts';

/*
 * When the reconciler marks a pod failing (PodFailing in RECONCILER), the assistant diagnoses it with the tenant's
 * provider, as a conversation of the system's own, and records `DiagnosisAttached` on the pod's diagnosis series;
 * `latestDiagnosis` shows it beside the alert. It runs as a kit projection (a durable consumer, one leader through
 * the advisory lock, a checkpoint in PostgreSQL) that appends to the log instead of writing rows, like the
 * monitor's alerter; it is not among the service's read-model projections, so a replay never runs it. A provider
 * failure is recorded as the diagnosis' error, once: it is not retried.
 */

/** Diagnoses run at once per batch (a node going down marks many pods failing together). */
const CONCURRENCY = 4;

export async function diagnoseFailing(deps: AiDeps, stored: StoredEvent, now: Date): Promise<void> {
  const { envelope, seq } = stored;
  const cause = reconcilerEvents.PodFailing.parse(envelope.data);
  const { tenantId, podId } = cause;
  const seriesId = diagnosisSeriesId(tenantId, podId);
  const loaded = await deps.repos.diagnoses.load(seriesId);
  const verdict = shouldDiagnose(loaded.state, { seq, occurredAt: envelope.occurredAt }, now);
  if (!verdict.yes) return;
  const meta: RequestMeta = {
    actor: systemActor('ai'),
    correlationId: envelope.correlationId,
    causationId: envelope.id,
    tenantId,
  };
  const io = { nc: deps.runtime.nc, js: deps.runtime.js, clock: deps.runtime.clock };
  let pod: Awaited<ReturnType<typeof readPod>>;
  try {
    pod = await readPod(io, tenantId, podId, meta);
  } catch (error) {
    if (error instanceof AppError && error.code === 'not_found') return; // deleted since: nothing to diagnose
    throw error;
  }
  const conversationId = diagnosisConversationId(envelope.id);
  const owner = { tenantId, userId: SYSTEM_USER };
  const questionId = diagnosisMessageId(envelope.id, 'user');
  const existing = await deps.repos.conversations.load(conversationId);
  if (existing.state.status === 'none') {
    await onConversation(deps, conversationId, meta, (state) =>
      decideStart(state, {
        ...owner,
        conversationId,
        subject: { kind: 'pod', tenantId, podId },
        title: sealTitle(deps.keyring, conversationId, titleOf(`Diagnosis: ${cause.summary}`)),
      }),
    );
  }
  await onConversation(deps, conversationId, meta, (state) =>
    decideAddMessage(state, owner, conversationId, {
      messageId: questionId,
      role: 'user',
      content: sealMessage(deps.keyring, conversationId, questionId, DIAGNOSE_QUESTION),
      usage: null,
      stopped: false,
      error: null,
      model: null,
    }),
  );
  const result = await answer(deps, {
    owner,
    conversationId,
    messageId: diagnosisMessageId(envelope.id, 'assistant'),
    question: DIAGNOSE_QUESTION,
    history: [],
    target: { kind: 'pod', pod },
    meta,
    signal: deps.shutdown,
  });
  // Stopped by the service stopping: not a diagnosis; the batch is not committed and is read again at the start.
  if (result.stopped) throw new Error('the service is stopping');
  try {
    await deps.runtime.store.append(
      'ai',
      seriesId,
      [
        {
          type: 'DiagnosisAttached',
          tenantId,
          data: {
            tenantId,
            podId,
            alertCauseEventId: envelope.id,
            sourceSeq: seq,
            conversationId,
            text: result.error ? '' : result.text,
            error: result.error ? result.error.toBody() : null,
            commands: result.error ? [] : result.commands,
            usage: result.usage,
            model: result.model,
          },
        },
      ],
      { expected: loaded.position, meta, now: deps.runtime.clock(), ids: [derivedEventId(envelope.id, seriesId)] },
    );
  } catch (error) {
    // Another leader (a takeover) recorded it first.
    if (!(error instanceof ConcurrencyError)) throw error;
  }
  deps.repos.diagnoses.forget(seriesId);
}

export function diagnosisReactor(deps: AiDeps): Projection<AiDb> {
  return {
    name: 'diagnoser',
    context: 'reconciler',
    async apply(_tx, stored) {
      const now = deps.runtime.clock();
      const failing = stored.filter((event) => event.envelope.type === 'PodFailing');
      for (let i = 0; i < failing.length; i += CONCURRENCY) {
        await Promise.all(failing.slice(i, i + CONCURRENCY).map((event) => diagnoseFailing(deps, event, now)));
      }
    },
  };
}
