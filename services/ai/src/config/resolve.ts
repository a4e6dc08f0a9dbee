import { decrypt } from '@agentpod/kit';
import type { AiDeps } from '../deps.ts';
import { cipherContexts, tenantConfigId } from '../ids.ts';
import type { Override } from './aggregate.ts';
import { effectiveProvider, type ProviderConfig } from './provider-config.ts';
import { checkProviderTarget } from './target.ts';

/** The tenant's override, as the log holds it now. */
export async function tenantOverride(deps: AiDeps, tenantId: string): Promise<Override | null> {
  return (await deps.repos.configs.load(tenantConfigId(tenantId))).state.override;
}

/**
 * The provider one request of `tenantId` goes to. A tenant's own base URL is checked again before each request
 * (its DNS can have changed since the owner set it).
 */
export async function providerFor(deps: AiDeps, tenantId: string): Promise<ProviderConfig> {
  const override = await tenantOverride(deps, tenantId);
  const provider = effectiveProvider(deps.platform, override, () =>
    override?.apiKey ? decrypt(deps.keyring, override.apiKey, cipherContexts.apiKey(tenantId)) : null,
  );
  if (override?.baseUrl) {
    await checkProviderTarget(provider.baseUrl, { allowPrivate: deps.runtime.config.AGENTPOD_AI_ALLOW_PRIVATE });
  }
  return provider;
}
