import { lookup as dnsLookup } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { checkPublicTarget, nonPublicAddress, nonPublicKind, type Resolve } from '@agentpod/kit';

export { hostOf, nonPublicKind } from '@agentpod/kit';

/*
 * Where a webhook may post. A tenant chooses the URL, the control plane makes the request: without a guard a
 * webhook could reach the control plane's own network (a database port, a cloud metadata endpoint). So unless the
 * installation allows it (AGENTPOD_WEBHOOK_ALLOW_PRIVATE), an address that is not public is refused, when the
 * webhook is added (a clear error) and again when each delivery connects (DNS can change in between).
 */

const ADVICE =
  'webhooks may only post to public addresses (an operator can allow private ones with AGENTPOD_WEBHOOK_ALLOW_PRIVATE=true)';

const refusal = (host: string, ip: string, kind: string): string => `${nonPublicAddress(host, ip, kind)}; ${ADVICE}`;

/**
 * Refuses (`invalid`) a webhook URL whose host is, or resolves to, an address that is not public, unless
 * `allowPrivate`; and one whose host does not resolve at all (most often a typo).
 */
export function checkWebhookTarget(text: string, options: { allowPrivate: boolean; resolve?: Resolve }): Promise<void> {
  return checkPublicTarget(text, { ...options, what: 'webhook URL', advice: ADVICE });
}

/** A refused connection: the delivery's error says why. */
export class RefusedAddressError extends Error {
  readonly code = 'EREFUSEDADDRESS';
  constructor(message: string) {
    super(message);
    this.name = 'RefusedAddressError';
  }
}

/**
 * The `lookup` a delivery's connection uses: the system resolver, refusing a host any of whose addresses is not
 * public (checked on the addresses actually connected to, so a DNS answer that changed since the webhook was added
 * cannot slip through). Undefined when private addresses are allowed.
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction | undefined {
  if (allowPrivate) return undefined;
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, answers) => {
      if (error) return callback(error, '', 0);
      const bad = answers.find((answer) => nonPublicKind(answer.address));
      if (bad) {
        const kind = nonPublicKind(bad.address) ?? 'non-public';
        return callback(new RefusedAddressError(refusal(hostname, bad.address, kind)), '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: typeof answers) => void)(null, answers);
      const [first] = answers;
      if (!first) return callback(new Error(`${hostname} has no address`), '', 0);
      return callback(null, first.address, first.family);
    });
  };
}
