import type { AiConfigView } from '@agentpod/contracts';
import type { Override } from './aggregate.ts';

/** Where and how one request is sent. `apiKey` null: a placeholder is sent (local servers ignore it). */
export type ProviderConfig = {
  baseUrl: string;
  model: string;
  apiKey: string | null;
  /** First-token (and between-chunks) timeout. */
  timeoutMs: number;
  source: 'platform' | 'tenant';
};

export type PlatformProvider = { baseUrl: string; model: string; apiKey: string | null; timeoutMs: number };

/**
 * The provider a tenant uses: the platform's, with the tenant's overrides on top. The platform's API key goes
 * only to the platform's base URL: a tenant that names its own base URL sends its own key or none, never the
 * platform's (else any tenant owner could collect it with a URL of their own). Pure.
 */
export function effectiveProvider(
  platform: PlatformProvider,
  override: Override | null,
  decryptKey: () => string | null,
): ProviderConfig {
  if (override === null) return { ...platform, source: 'platform' };
  const ownUrl = override.baseUrl !== null && override.baseUrl !== platform.baseUrl;
  const tenantKey = override.apiKey !== null ? decryptKey() : null;
  return {
    baseUrl: override.baseUrl ?? platform.baseUrl,
    model: override.model ?? platform.model,
    apiKey: tenantKey ?? (ownUrl ? null : platform.apiKey),
    timeoutMs: platform.timeoutMs,
    source: 'tenant',
  };
}

/** What `getConfig` shows: never a key, only whether one is sent. */
export function configView(platform: PlatformProvider, override: Override | null): AiConfigView {
  const provider = effectiveProvider(platform, override, () => (override?.apiKey ? 'set' : null));
  return {
    source: provider.source,
    baseUrl: provider.baseUrl,
    model: provider.model,
    hasApiKey: provider.apiKey !== null && provider.apiKey !== '',
  };
}
