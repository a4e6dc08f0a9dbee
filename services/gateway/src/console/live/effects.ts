import type { Context, EventEnvelope } from '@agentpod/contracts';

/*
 * What one stored event means for a console that watches the system: which pods' views may have changed (the
 * session fetches them again, as its user), which nodes changed, whether the event itself is shown (timelines,
 * the overview's recent events), and whether the viewer's tenants may have changed. Pure: the session decides
 * from this and the viewer's scope.
 */

export type PodKey = { tenantId: string; podId: string };
export type Effects = {
  pods: PodKey[];
  nodes: string[];
  /** Shown to viewers of `envelope.tenantId` (every event to a platform admin). */
  forward: boolean;
  /** Memberships may have changed: re-read the viewer's tenants. */
  rescope: boolean;
};

const NONE: Effects = { pods: [], nodes: [], forward: false, rescope: false };
const SLUG = /^[a-z][a-z0-9-]{1,30}[a-z0-9]$/;
const RESCOPING = new Set(['TenantCreated', 'TenantDeleted', 'MemberAdded', 'MemberRoleChanged', 'MemberRemoved']);

/** `pod_<tenant>_<pod>` (neither slug can hold `_`) as its key; undefined for any other aggregate. */
export function podKeyOf(aggregateId: string): PodKey | undefined {
  const [kind, tenantId, podId, ...rest] = aggregateId.split('_');
  if (kind !== 'pod' || rest.length > 0 || !tenantId || !podId) return undefined;
  return SLUG.test(tenantId) && SLUG.test(podId) ? { tenantId, podId } : undefined;
}

const podOfData = (data: unknown): PodKey | undefined => {
  const { tenantId, podId } = (data ?? {}) as { tenantId?: unknown; podId?: unknown };
  return typeof tenantId === 'string' && typeof podId === 'string' && SLUG.test(tenantId) && SLUG.test(podId)
    ? { tenantId, podId }
    : undefined;
};

const unique = (keys: PodKey[]): PodKey[] => [
  ...new Map(keys.map((key) => [`${key.tenantId}/${key.podId}`, key])).values(),
];

export function effectsOf(envelope: EventEnvelope, context: Context): Effects {
  const pod = podKeyOf(envelope.aggregateId);
  const isNode = envelope.aggregateId.startsWith('nod_');
  switch (context) {
    case 'pods':
      if (pod) return { ...NONE, pods: [pod], forward: true };
      return isNode ? { ...NONE, nodes: [envelope.aggregateId], forward: envelope.tenantId !== undefined } : NONE;
    case 'reconciler':
      return pod ? { ...NONE, pods: [pod], forward: true } : NONE;
    case 'agent': {
      // Observations: they change pod views (state, health) but are too many and too raw to show one by one.
      const node = isNode ? [envelope.aggregateId] : [];
      if (envelope.type === 'InventoryReported') {
        const containers = (envelope.data as { containers?: unknown[] } | undefined)?.containers ?? [];
        return { ...NONE, pods: unique(containers.flatMap((c) => podOfData(c) ?? [])), nodes: node };
      }
      const observed = podOfData(envelope.data);
      return { ...NONE, pods: observed ? [observed] : [], nodes: observed ? [] : node };
    }
    case 'tenants':
      return { ...NONE, forward: true, rescope: RESCOPING.has(envelope.type) };
    case 'monitor':
      return { ...NONE, forward: true };
    case 'identity':
    case 'ai':
      return NONE;
    default: {
      const unknown: never = context;
      throw new Error(`unknown context ${String(unknown)}`);
    }
  }
}

/** Fields that hold ciphertext or hashes of secrets: never sent to a browser, even encrypted. */
const SECRET_FIELDS = new Set(['secrets', 'accessToken', 'tokenHash', 'secretHash', 'credentialHash']);

/** The envelope with secret-bearing fields of its data replaced by a marker. */
export function redacted(envelope: EventEnvelope): EventEnvelope {
  const data = envelope.data;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return envelope;
  const entries = Object.entries(data).map(([key, value]) => [key, SECRET_FIELDS.has(key) ? '[redacted]' : value]);
  return { ...envelope, data: Object.fromEntries(entries) };
}

/** Tenants whose changes the viewer may see: every tenant for a platform admin. */
export type Scope = 'all' | ReadonlySet<string>;

export const canSee = (scope: Scope, tenantId: string | undefined): boolean =>
  scope === 'all' || (tenantId !== undefined && scope.has(tenantId));

/**
 * Whether a WebSocket upgrade comes from the console itself: its Origin is the gateway's public URL, or the
 * address the browser used to reach this gateway (`npm start` answers on 127.0.0.1 and localhost alike). Any other
 * page (a cross-site WebSocket hijack riding on the session cookie) is refused before the upgrade.
 */
export function sameOrigin(origin: string | undefined, publicUrl: string, requestOrigin: string): boolean {
  if (origin === undefined || origin === 'null') return false;
  return origin === new URL(publicUrl).origin || origin === requestOrigin;
}
