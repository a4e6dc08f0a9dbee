import {
  AiCommands,
  AiQueries,
  type AiResults,
  commandSubject,
  querySubject,
  type RequestMeta,
} from '@agentpod/contracts';
import { handler } from '@agentpod/kit';
import type { z } from 'zod';
import { requirePlatformAdmin, requireTenant } from './access.ts';
import { Asker, DIAGNOSE_QUESTION } from './chat/ask.ts';
import { getTenantConfig, setTenantConfig } from './config/handlers.ts';
import { decideDelete } from './conversation/aggregate.ts';
import { getConversation, listConversations } from './conversation/queries.ts';
import { onConversation, settle } from './conversation/store.ts';
import type { AiDeps } from './deps.ts';
import { generateSpec } from './generate/handler.ts';
import { latestDiagnosis, usageRows } from './usage/queries.ts';

type Result<K extends keyof typeof AiResults> = z.infer<(typeof AiResults)[K]>;

/** `ai.cmd.{ask,diagnose,generateSpec,deleteConversation,setTenantConfig}` and `ai.qry.*` (see README.md). */
export function registerHandlers(deps: AiDeps): Asker {
  const { runtime } = deps;
  const asker = new Asker(deps);
  const command = <I, O>(
    name: keyof typeof AiCommands,
    input: z.ZodType<I>,
    handle: (i: I, m: RequestMeta) => Promise<O>,
  ) => runtime.serve(commandSubject('ai', name), handler(input, handle));
  const query = <I, O>(
    name: keyof typeof AiQueries,
    input: z.ZodType<I>,
    handle: (i: I, m: RequestMeta) => Promise<O>,
  ) => runtime.serve(querySubject('ai', name), handler(input, handle));

  command('ask', AiCommands.ask, async (input, meta): Promise<Result<'ask'>> => {
    const { userId } = await requireTenant(runtime, meta, input.tenantId, 'viewer', 'asking the assistant');
    return asker.ask({
      owner: { tenantId: input.tenantId, userId },
      streamId: input.streamId,
      ...(input.conversationId ? { conversationId: input.conversationId } : {}),
      subject: input.subject,
      question: input.message,
      meta,
    });
  });

  command('diagnose', AiCommands.diagnose, async (input, meta): Promise<Result<'diagnose'>> => {
    const { tenantId, podId, streamId } = input;
    const { userId } = await requireTenant(runtime, meta, tenantId, 'viewer', 'diagnosing a pod');
    return asker.ask({
      owner: { tenantId, userId },
      streamId,
      subject: { kind: 'pod', tenantId, podId },
      question: DIAGNOSE_QUESTION,
      meta,
    });
  });

  command('generateSpec', AiCommands.generateSpec, async (input, meta): Promise<Result<'generateSpec'>> => {
    const { userId } = await requireTenant(runtime, meta, input.tenantId, 'member', 'generating pod specs');
    return generateSpec(deps, input, userId, meta);
  });

  command('deleteConversation', AiCommands.deleteConversation, async (input, meta) => {
    const { tenantId, conversationId } = input;
    const { userId } = await requireTenant(runtime, meta, tenantId, 'viewer', 'deleting a conversation');
    const owner = { tenantId, userId };
    await settle(deps, await onConversation(deps, conversationId, meta, (s) => decideDelete(s, owner, conversationId)));
    return { deleted: true } as const;
  });

  command('setTenantConfig', AiCommands.setTenantConfig, async (input, meta): Promise<Result<'setTenantConfig'>> => {
    await requireTenant(runtime, meta, input.tenantId, 'owner', "changing the tenant's AI provider");
    return setTenantConfig(deps, input, meta);
  });

  query('getConfig', AiQueries.getConfig, async ({ tenantId }, meta): Promise<Result<'getConfig'>> => {
    await requireTenant(runtime, meta, tenantId, 'admin', "reading the tenant's AI provider");
    return getTenantConfig(deps, tenantId);
  });

  query('listConversations', AiQueries.listConversations, async ({ tenantId }, meta) => {
    const { userId } = await requireTenant(runtime, meta, tenantId, 'viewer', 'listing conversations');
    return { conversations: await listConversations(deps, { tenantId, userId }) };
  });

  query('getConversation', AiQueries.getConversation, async ({ tenantId, conversationId }, meta) => {
    const { userId } = await requireTenant(runtime, meta, tenantId, 'viewer', 'reading a conversation');
    return getConversation(deps, { tenantId, userId }, conversationId);
  });

  query('usage', AiQueries.usage, async ({ tenantId }, meta): Promise<Result<'usage'>> => {
    if (tenantId === undefined) requirePlatformAdmin(meta, "reading every tenant's AI usage");
    else await requireTenant(runtime, meta, tenantId, 'admin', 'reading AI usage');
    return { rows: await usageRows(deps, tenantId) };
  });

  query('latestDiagnosis', AiQueries.latestDiagnosis, async ({ tenantId, podId }, meta) => {
    await requireTenant(runtime, meta, tenantId, 'viewer', 'reading a diagnosis');
    return { diagnosis: await latestDiagnosis(deps, tenantId, podId) };
  });
  return asker;
}
