import { commandSubject, InviteMemberResult, querySubject } from '@agentpod/contracts';
import type { RouteHandlers } from './context.ts';

type TenantHandlers = Pick<
  RouteHandlers,
  | 'listTenants'
  | 'createTenant'
  | 'getTenant'
  | 'renameTenant'
  | 'deleteTenant'
  | 'listMembers'
  | 'inviteMember'
  | 'changeMemberRole'
  | 'removeMember'
  | 'listInvitations'
  | 'revokeInvitation'
  | 'acceptInvitation'
  | 'audit'
>;

const tenantsCmd = (name: string) => commandSubject('tenants', name);
const tenantsQry = (name: string) => querySubject('tenants', name);

export const tenantHandlers: TenantHandlers = {
  listTenants: ({ call }) => call(tenantsQry('listTenants'), {}),

  createTenant: ({ body, call }) => call(tenantsCmd('createTenant'), body),

  getTenant: ({ params, call }) => call(tenantsQry('getTenant'), { tenantId: params.tenant }),

  renameTenant: ({ params, body, call }) =>
    call(tenantsCmd('renameTenant'), { tenantId: params.tenant, name: body.name }),

  deleteTenant: ({ params, query, call }) =>
    call(tenantsCmd('deleteTenant'), { tenantId: params.tenant, force: query.force === 'true' }),

  listMembers: ({ params, call }) => call(tenantsQry('listMembers'), { tenantId: params.tenant }),

  async inviteMember({ params, body, call, deps }) {
    const { localLink, ...invitation } = InviteMemberResult.parse(
      await call(tenantsCmd('inviteMember'), { tenantId: params.tenant, email: body.email, role: body.role }),
    );
    // Like sign-in links: printed for the operator in local mode, never returned to the inviter.
    if (localLink) deps.options.announce({ kind: 'invitation', email: invitation.email, link: localLink });
    return invitation;
  },

  changeMemberRole: ({ params, body, call }) =>
    call(tenantsCmd('changeMemberRole'), { tenantId: params.tenant, userId: params.userId, role: body.role }),

  removeMember: ({ params, call }) =>
    call(tenantsCmd('removeMember'), { tenantId: params.tenant, userId: params.userId }),

  listInvitations: ({ params, call }) => call(tenantsQry('listInvitations'), { tenantId: params.tenant }),

  revokeInvitation: ({ params, call }) =>
    call(tenantsCmd('revokeInvitation'), { tenantId: params.tenant, invitationId: params.invitationId }),

  acceptInvitation: ({ body, call }) => call(tenantsCmd('acceptInvitation'), body),

  // The tenants service owns the audit log and decides what the caller may see (interfaces §10).
  audit: ({ query, call }) => call(tenantsQry('audit'), query),
};
