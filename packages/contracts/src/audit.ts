import { z } from 'zod';
import { AuditEntry } from './api.ts';
import { TenantId } from './tenants.ts';

/** Streams whose events make the audit log (`AGENT` observations are not changes anyone made). */
export const AUDITED_CONTEXTS = ['identity', 'tenants', 'pods', 'reconciler', 'monitor', 'ai'] as const;

/**
 * Body of `tenants.qry.audit`, the REST query of `GET /api/v1/audit` once parsed. Entries come newest first;
 * `before` is the `next` cursor of the previous page (an event id). Scoping: a platform admin sees everything; a
 * tenant admin or owner sees their tenants' entries; naming a tenant one is only viewer/member of is `forbidden`,
 * one with no access is `not_found`.
 */
export const AuditQuery = z
  .object({
    tenant: TenantId.optional(),
    /** Actor id: a user id, token id, node id or service name. */
    actor: z.string().min(1).max(128).optional(),
    type: z
      .string()
      .regex(/^[A-Z][A-Za-z0-9]{1,80}$/, 'must be an event type such as MemberAdded')
      .optional(),
    before: z.uuid({ message: 'must be the `next` cursor of a previous page' }).optional(),
    limit: z.number().int().min(1).max(500).default(50),
  })
  .strict();
export type AuditQuery = z.infer<typeof AuditQuery>;

/** Reply of `tenants.qry.audit`: one page, and the cursor of the next one (null on the last page). */
export const AuditPage = z.object({ entries: z.array(AuditEntry), next: z.string().nullable() });
export type AuditPage = z.infer<typeof AuditPage>;
