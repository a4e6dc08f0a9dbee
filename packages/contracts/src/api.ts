import { z } from 'zod';
import { aiRoutes } from './ai.ts';
import { alertRuleRoutes } from './alert-rules.ts';
import { alertRoutes } from './alerts.ts';
import { Email, Principal, TenantRole, TokenRole } from './auth.ts';
import { EventEnvelope } from './envelope.ts';
import { ErrorBody } from './errors.ts';
import { ApiTokenId, ApiTokenView, Duration, UserId, UserView } from './identity.ts';
import { AggregateId } from './ids.ts';
import { metricsRoutes } from './metrics.ts';
import { migrateRoutes } from './migrate-routes.ts';
import { nodeRoutes, podRoutes } from './pod-routes.ts';
import { reconcilerRoutes } from './reconciler-routes.ts';
import { rolloutRoutes } from './rollouts.ts';
import { DisplayName, InvitationId, InvitationView, MemberView, TenantId, TenantView } from './tenants.ts';
import { workspaceRoutes } from './workspace.ts';

/*
 * The REST API as data: one entry per route, with its authorisation rule and the zod schemas of its path
 * parameters, query, body and response. The gateway registers its routes, validates, builds the OpenAPI document
 * and generates the role-matrix test from this table; the CLI's client is typed by it. A route not in this
 * table does not exist.
 */

/**
 * Who may call a route, checked by the gateway before the owning service checks again:
 * - `public`: anyone, no credentials;
 * - `signedIn`: any valid session or token;
 * - `platformAdmin`: a platform admin's session or unscoped admin token;
 * - `{ tenant: role }`: an effective role of at least `role` in the tenant named by the `:tenant` parameter.
 * Whatever the rule, a token capped at `viewer` can call no route that changes anything (non-GET).
 */
export type AccessRule = 'public' | 'signedIn' | 'platformAdmin' | { tenant: TenantRole };

export type ApiRoute = {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** fastify-style path with `:param` segments. */
  path: string;
  summary: string;
  access: AccessRule;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Success status; 200 unless stated. */
  status?: 200 | 201 | 202 | 204;
  response?: z.ZodType;
};

const tenantParams = z.object({ tenant: TenantId });
const EventType = z.string().regex(/^[A-Z][A-Za-z0-9]{1,80}$/, 'must be an event type such as MemberAdded');

export const routes = {
  requestMagicLink: {
    method: 'POST',
    path: '/api/v1/auth/magic-link',
    summary: 'Email a sign-in link (answers 202 whether or not the address has an account)',
    access: 'public',
    body: z.object({ email: Email }).strict(),
    status: 202,
    response: z.object({}),
  },
  redeemMagicLink: {
    method: 'POST',
    path: '/api/v1/auth/redeem',
    summary: 'Trade a sign-in link token for a session (sets the session cookie)',
    access: 'public',
    body: z.object({ token: z.string().min(20).max(200) }).strict(),
    response: z.object({ user: UserView, expiresAt: z.string() }),
  },
  signOut: {
    method: 'POST',
    path: '/api/v1/auth/logout',
    summary: 'End this session',
    access: 'signedIn',
    status: 204,
  },
  signOutEverywhere: {
    method: 'POST',
    path: '/api/v1/auth/logout-all',
    summary: "End every one of the caller's sessions",
    access: 'signedIn',
    status: 204,
  },
  whoami: {
    method: 'GET',
    path: '/api/v1/me',
    summary: 'The caller, and the tenants they belong to',
    access: 'signedIn',
    response: z.object({
      principal: Principal,
      memberships: z.array(z.object({ tenantId: TenantId, role: TenantRole })),
    }),
  },
  bootstrap: {
    method: 'POST',
    path: '/api/v1/admin/bootstrap',
    summary: 'Create the first platform admin (needs the bootstrap secret from the control-plane host)',
    access: 'public',
    body: z.object({ email: Email }).strict(),
    status: 201,
    response: z.object({ user: UserView, signInLink: z.string(), token: z.string(), tokenId: ApiTokenId }),
  },
  listUsers: {
    method: 'GET',
    path: '/api/v1/admin/users',
    summary: 'Every user',
    access: 'platformAdmin',
    response: z.object({ users: z.array(UserView) }),
  },
  setUserDisabled: {
    method: 'POST',
    path: '/api/v1/admin/users/:userId/disabled',
    summary: 'Disable (ending every session at once) or enable a user',
    access: 'platformAdmin',
    params: z.object({ userId: UserId }),
    body: z.object({ disabled: z.boolean() }).strict(),
    response: UserView,
  },
  replay: {
    method: 'POST',
    path: '/api/v1/admin/replay',
    summary: "Rebuild a service's read models from the event log and compare them with the live ones",
    access: 'platformAdmin',
    body: z
      .object({
        service: z.enum(['identity', 'tenants', 'pods', 'reconciler', 'monitor', 'ai', 'all']),
        swap: z.boolean().default(true),
      })
      .strict(),
    response: z.object({
      reports: z.array(
        z.object({
          service: z.string(),
          events: z.number(),
          durationMs: z.number(),
          identical: z.boolean().optional(),
          swapped: z.boolean(),
        }),
      ),
    }),
  },
  listTenants: {
    method: 'GET',
    path: '/api/v1/tenants',
    summary: 'Tenants the caller can see (all of them for a platform admin)',
    access: 'signedIn',
    response: z.object({ tenants: z.array(TenantView) }),
  },
  createTenant: {
    method: 'POST',
    path: '/api/v1/tenants',
    summary: 'Create a tenant; the caller becomes its owner',
    access: 'platformAdmin',
    body: z.object({ id: TenantId, name: DisplayName }).strict(),
    status: 201,
    response: TenantView,
  },
  getTenant: {
    method: 'GET',
    path: '/api/v1/tenants/:tenant',
    summary: 'One tenant',
    access: { tenant: 'viewer' },
    params: tenantParams,
    response: TenantView,
  },
  renameTenant: {
    method: 'PATCH',
    path: '/api/v1/tenants/:tenant',
    summary: 'Rename a tenant',
    access: { tenant: 'admin' },
    params: tenantParams,
    body: z.object({ name: DisplayName }).strict(),
    response: TenantView,
  },
  deleteTenant: {
    method: 'DELETE',
    path: '/api/v1/tenants/:tenant',
    summary: 'Delete a tenant (refused while it has pods, unless force=true deletes them first)',
    access: { tenant: 'owner' },
    params: tenantParams,
    query: z.object({ force: z.enum(['true', 'false']).default('false') }).strict(),
    status: 204,
  },
  listMembers: {
    method: 'GET',
    path: '/api/v1/tenants/:tenant/members',
    summary: 'Members of a tenant and their roles',
    access: { tenant: 'viewer' },
    params: tenantParams,
    response: z.object({ members: z.array(MemberView) }),
  },
  inviteMember: {
    method: 'POST',
    path: '/api/v1/tenants/:tenant/members',
    summary: 'Invite someone by email with a role (no higher than your own)',
    access: { tenant: 'admin' },
    params: tenantParams,
    body: z.object({ email: Email, role: TenantRole }).strict(),
    status: 201,
    response: InvitationView,
  },
  changeMemberRole: {
    method: 'PATCH',
    path: '/api/v1/tenants/:tenant/members/:userId',
    summary: "Change a member's role (never above your own; the last owner stays owner)",
    access: { tenant: 'admin' },
    params: z.object({ tenant: TenantId, userId: UserId }),
    body: z.object({ role: TenantRole }).strict(),
    response: MemberView,
  },
  removeMember: {
    method: 'DELETE',
    path: '/api/v1/tenants/:tenant/members/:userId',
    summary: 'Remove a member (admins), or leave (anyone); the last owner cannot leave',
    access: { tenant: 'viewer' },
    params: z.object({ tenant: TenantId, userId: UserId }),
    status: 204,
  },
  listInvitations: {
    method: 'GET',
    path: '/api/v1/tenants/:tenant/invitations',
    summary: 'Invitations of a tenant',
    access: { tenant: 'admin' },
    params: tenantParams,
    response: z.object({ invitations: z.array(InvitationView) }),
  },
  revokeInvitation: {
    method: 'DELETE',
    path: '/api/v1/tenants/:tenant/invitations/:invitationId',
    summary: 'Revoke a pending invitation',
    access: { tenant: 'admin' },
    params: z.object({ tenant: TenantId, invitationId: InvitationId }),
    status: 204,
  },
  acceptInvitation: {
    method: 'POST',
    path: '/api/v1/invitations/accept',
    summary: 'Join a tenant with an invitation sent to your own address',
    access: 'signedIn',
    body: z.object({ token: z.string().min(20).max(200) }).strict(),
    response: MemberView.extend({ tenantId: TenantId }),
  },
  listTokens: {
    method: 'GET',
    path: '/api/v1/tokens',
    summary: "The caller's API tokens (every token for a platform admin)",
    access: 'signedIn',
    response: z.object({ tokens: z.array(ApiTokenView) }),
  },
  createToken: {
    method: 'POST',
    path: '/api/v1/tokens',
    summary: 'Create an API token (the secret is shown once; never more rights than yours)',
    access: 'signedIn',
    body: z
      .object({
        name: z.string().trim().min(1).max(64),
        tenant: TenantId.optional(),
        role: TokenRole.default('member'),
        expiresIn: Duration.optional(),
      })
      .strict(),
    status: 201,
    response: z.object({ token: z.string(), view: ApiTokenView }),
  },
  revokeToken: {
    method: 'DELETE',
    path: '/api/v1/tokens/:tokenId',
    summary: 'Revoke an API token',
    access: 'signedIn',
    params: z.object({ tokenId: ApiTokenId }),
    status: 204,
  },
  audit: {
    method: 'GET',
    path: '/api/v1/audit',
    summary: 'Changes, newest first (tenant admins see their tenant; platform admins everything)',
    access: 'signedIn',
    query: z
      .object({
        tenant: TenantId.optional(),
        actor: z.string().min(1).max(128).optional(),
        type: EventType.optional(),
        /** The `next` cursor of the previous page. */
        before: z.uuid({ message: 'must be the `next` cursor of a previous page' }).optional(),
        limit: z.coerce.number().int().min(1).max(500).default(50),
      })
      .strict(),
    response: z.object({ entries: z.array(z.lazy(() => AuditEntry)), next: z.string().nullable() }),
  },
  events: {
    method: 'GET',
    path: '/api/v1/events',
    summary:
      'Raw events from the log, oldest first: the last `limit` that match (tenant-scoped for non-admins); ' +
      'follow=true answers NDJSON (application/x-ndjson), one event per line, then every new one until the client ' +
      'disconnects',
    access: 'signedIn',
    query: z
      .object({
        tenant: TenantId.optional(),
        aggregate: AggregateId.optional(),
        type: EventType.optional(),
        context: z.enum(['identity', 'tenants', 'pods', 'reconciler', 'monitor', 'ai', 'agent']).optional(),
        follow: z.enum(['true', 'false']).default('false'),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      })
      .strict(),
    response: z.object({ events: z.array(EventEnvelope) }),
  },
  ...nodeRoutes,
  ...podRoutes,
  ...migrateRoutes,
  ...reconcilerRoutes,
  ...rolloutRoutes,
  ...alertRoutes,
  ...metricsRoutes,
  ...workspaceRoutes,
  ...alertRuleRoutes,
  ...aiRoutes,
} satisfies Record<string, ApiRoute>;

export type RouteName = keyof typeof routes;

export { CreatePodBody, NodeRef, UpdatePodBody } from './pod-routes.ts';

/** One line of the audit log: an event, as who did what to which tenant. */
export const AuditEntry = z.object({
  eventId: z.string(),
  type: z.string(),
  context: z.string(),
  aggregateId: z.string(),
  tenantId: z.string().nullable(),
  actor: z.object({ kind: z.string(), id: z.string(), onBehalfOf: z.string().optional() }),
  correlationId: z.string(),
  occurredAt: z.string(),
  data: z.unknown(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

/** Every API error response: `{ error: { code, message, details? } }`. */
export const ApiError = z.object({ error: ErrorBody });

/** Header that carries the bootstrap secret read from the control-plane host. */
export const BOOTSTRAP_HEADER = 'x-agentpod-bootstrap';
/** Header that must echo the CSRF cookie on state-changing requests made with a session cookie. */
export const CSRF_HEADER = 'x-agentpod-csrf';
