import { checkPublicTarget, type Resolve } from '@agentpod/kit';

export { nonPublicKind } from '@agentpod/kit';

/*
 * Where a tenant's assistant may send requests. A tenant owner chooses the base URL, the control plane makes the
 * request: without a guard it could reach the control plane's own network (a database port, a cloud metadata
 * endpoint). Unless the installation allows it (AGENTPOD_AI_ALLOW_PRIVATE), a host that is or resolves to a
 * non-public address is refused when the override is set and again before each request (DNS can change). The
 * platform's own URL (a local Ollama, typically) is the operator's choice and is not checked.
 */

/**
 * Refuses (`invalid`) a base URL whose host is, or resolves to, a non-public address, unless `allowPrivate`; and one
 * whose host does not resolve.
 */
export function checkProviderTarget(
  text: string,
  options: { allowPrivate: boolean; resolve?: Resolve },
): Promise<void> {
  return checkPublicTarget(text, {
    ...options,
    what: 'AI base URL',
    advice:
      "a tenant's assistant may only use public addresses (the operator can allow private ones with " +
      'AGENTPOD_AI_ALLOW_PRIVATE=true, or set the platform provider)',
  });
}
