import { AppError, type GenerateResult, type RequestMeta } from '@agentpod/contracts';
import { EMPTY_POSITION } from '@agentpod/kit';
import { providerFor } from '../config/resolve.ts';
import { settle } from '../conversation/store.ts';
import type { AiDeps } from '../deps.ts';
import { newGenerationId } from '../ids.ts';
import { type ChatMessage, streamChat } from '../provider/chat.ts';
import { extractJson, GENERATE_PROMPT, validateGenerated } from './validate.ts';

/*
 * `generateSpec`: asks the tenant's provider for pod specs as JSON (response_format json_object; a provider that
 * rejects that option is asked again without it and the JSON is found in its text), validates every pod, and
 * records the generation (its tokens count in usage; the prompt and answer are not kept). Nothing is created.
 */

export async function generateSpec(
  deps: AiDeps,
  input: { tenantId: string; prompt: string },
  userId: string,
  meta: RequestMeta,
): Promise<GenerateResult> {
  const { tenantId } = input;
  const provider = await providerFor(deps, tenantId);
  const messages: ChatMessage[] = [
    { role: 'system', content: GENERATE_PROMPT },
    { role: 'user', content: input.prompt },
  ];
  let outcome = await streamChat(provider, messages, { json: true, signal: deps.shutdown });
  if (outcome.error && outcome.httpStatus === 400)
    outcome = await streamChat(provider, messages, { signal: deps.shutdown });
  const checked = outcome.error ? null : validateGenerated(tenantId, extractJson(outcome.text) ?? null);
  const generationId = newGenerationId();
  const { stored } = await deps.runtime.store.append(
    'ai',
    generationId,
    [
      {
        type: 'SpecGenerated',
        tenantId,
        data: {
          generationId,
          tenantId,
          userId,
          pods: checked?.pods.length ?? 0,
          refused: checked?.refused.length ?? 0,
          usage: outcome.usage,
          error: outcome.error ? outcome.error.toBody() : null,
          model: provider.model,
        },
      },
    ],
    { expected: EMPTY_POSITION, meta, now: deps.runtime.clock() },
  );
  await settle(deps, { events: stored }).catch(() => {});
  if (outcome.error) throw outcome.error;
  if (outcome.stopped) throw new AppError('unavailable', 'the ai service is stopping; try again');
  if (!checked) throw new AppError('internal', 'unreachable: a generation without an answer');
  return { ...checked, usage: outcome.usage ?? { promptTokens: 0, completionTokens: 0 } };
}
