import type { AiResults, DiagnosisView } from '@agentpod/contracts';
import { sql } from 'kysely';
import type { z } from 'zod';
import type { AiDeps } from '../deps.ts';

type UsageRows = z.infer<(typeof AiResults)['usage']>['rows'];

/** Totals per tenant and user (null: what the service did on its own, the automatic diagnoses), all days. */
export async function usageRows(deps: AiDeps, tenantId: string | undefined): Promise<UsageRows> {
  const rows = await deps.runtime.db
    .selectFrom('usage')
    .select([
      'tenant_id',
      'user_id',
      sql<string>`sum(requests)`.as('requests'),
      sql<string>`sum(prompt_tokens)`.as('prompt_tokens'),
      sql<string>`sum(completion_tokens)`.as('completion_tokens'),
    ])
    .$if(tenantId !== undefined, (q) => q.where('tenant_id', '=', tenantId ?? ''))
    .groupBy(['tenant_id', 'user_id'])
    .orderBy('tenant_id')
    .orderBy('user_id')
    .execute();
  return rows.map((row) => ({
    tenantId: row.tenant_id,
    userId: row.user_id === '' ? null : row.user_id,
    requests: Number(row.requests),
    promptTokens: Number(row.prompt_tokens),
    completionTokens: Number(row.completion_tokens),
  }));
}

export async function latestDiagnosis(deps: AiDeps, tenantId: string, podId: string): Promise<DiagnosisView | null> {
  const row = await deps.runtime.db
    .selectFrom('diagnoses')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('pod_id', '=', podId)
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return null;
  return {
    tenantId: row.tenant_id,
    podId: row.pod_id,
    alertCauseEventId: row.alert_cause_event_id,
    text: row.text,
    error: row.error,
    commands: row.commands,
    createdAt: row.created_at.toISOString(),
  };
}
