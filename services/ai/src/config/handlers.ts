import type { AiConfigView, RequestMeta } from '@agentpod/contracts';
import { encrypt, executeCommand } from '@agentpod/kit';
import type { AiDeps } from '../deps.ts';
import { cipherContexts, tenantConfigId } from '../ids.ts';
import { type ConfigChange, decideConfigure } from './aggregate.ts';
import { configView } from './provider-config.ts';
import { tenantOverride } from './resolve.ts';
import { checkProviderTarget } from './target.ts';

export type SetConfigInput = {
  tenantId: string;
  baseUrl?: string | undefined;
  model?: string | undefined;
  apiKey?: string | null | undefined;
  reset: boolean;
};

/** `setTenantConfig` (owners; checked by the caller): stores the override, the key encrypted, and answers the view. */
export async function setTenantConfig(deps: AiDeps, input: SetConfigInput, meta: RequestMeta): Promise<AiConfigView> {
  const { runtime, keyring } = deps;
  const { tenantId } = input;
  if (input.baseUrl !== undefined && !input.reset) {
    await checkProviderTarget(input.baseUrl, { allowPrivate: runtime.config.AGENTPOD_AI_ALLOW_PRIVATE });
  }
  const change: ConfigChange = {
    reset: input.reset,
    ...(input.baseUrl !== undefined ? { baseUrl: input.baseUrl.replace(/\/+$/, '') } : {}),
    ...(input.model !== undefined ? { model: input.model } : {}),
    ...(input.apiKey !== undefined
      ? { apiKey: input.apiKey === null ? null : encrypt(keyring, input.apiKey, cipherContexts.apiKey(tenantId)) }
      : {}),
  };
  const outcome = await executeCommand({
    store: runtime.store,
    repository: deps.repos.configs,
    aggregateId: tenantConfigId(tenantId),
    meta,
    decide: (state) => decideConfigure(state, tenantId, change),
    clock: runtime.clock,
  });
  return configView(deps.platform, outcome.state.override);
}

export async function getTenantConfig(deps: AiDeps, tenantId: string): Promise<AiConfigView> {
  return configView(deps.platform, await tenantOverride(deps, tenantId));
}
