import {
  AppError,
  type EventOf,
  hasPlatformAdmin,
  INVITATION_TTL_MS,
  type Principal,
  roleRank,
  type TenantRole,
} from '@agentpod/contracts';
import type { Decision } from '@agentpod/kit';
import { changerRole, isReadOnly, readOnlyRefused, requireNotAbove, requireRole } from './authority.ts';
import { isLive, ownerCount, type TenantEvents, type TenantState } from './events.ts';

/*
 * Commands of the tenant aggregate, decided purely: who asks (the principal), the time, generated ids and token
 * hashes, and the pods count all come in as arguments. Every rule of tenants and roles lives here:
 * - only a platform admin creates a tenant, and becomes its owner; slugs of deleted tenants are not reused;
 * - admin+ renames, invites, revokes invitations, changes roles and removes others; owner deletes;
 * - nobody grants a role above their own (inviting or changing), nor changes or removes someone above them;
 * - the last owner can neither leave, be removed, nor be demoted;
 * - a platform admin counts as owner everywhere; a viewer-capped token changes nothing;
 * - an invitation is accepted only by a principal with the invited address, once, before it expires.
 */

export type TenantCommand =
  | { type: 'CreateTenant'; tenantId: string; name: string }
  | { type: 'RenameTenant'; tenantId: string; name: string }
  /** `podCount`: pods the tenant still has (after the handler had them deleted, with force); `podsDeleted`: how many. */
  | { type: 'DeleteTenant'; tenantId: string; force: boolean; podCount: number; podsDeleted: number }
  | {
      type: 'InviteMember';
      tenantId: string;
      email: string;
      role: TenantRole;
      invitationId: string;
      tokenHash: string;
    }
  | { type: 'AcceptInvitation'; tenantId: string; tokenHash: string }
  | { type: 'RevokeInvitation'; tenantId: string; invitationId: string }
  | { type: 'ChangeMemberRole'; tenantId: string; userId: string; role: TenantRole }
  | { type: 'RemoveMember'; tenantId: string; userId: string };

export type DecideContext = { principal: Principal; now: Date };

type Events = EventOf<TenantEvents>[];

export function decide(command: TenantCommand, state: TenantState, context: DecideContext): Decision<TenantEvents> {
  switch (command.type) {
    case 'CreateTenant':
      return createTenant(command, state, context);
    case 'RenameTenant':
      return renameTenant(command, state, context);
    case 'DeleteTenant':
      return deleteTenant(command, state, context);
    case 'InviteMember':
      return inviteMember(command, state, context);
    case 'AcceptInvitation':
      return acceptInvitation(command, state, context);
    case 'RevokeInvitation':
      return revokeInvitation(command, state, context);
    case 'ChangeMemberRole':
      return changeMemberRole(command, state, context);
    case 'RemoveMember':
      return removeMember(command, state, context);
    default: {
      const unknown: never = command;
      throw new Error(`unhandled tenant command ${(unknown as TenantCommand).type}`);
    }
  }
}

type Of<T extends TenantCommand['type']> = Extract<TenantCommand, { type: T }>;

function createTenant(
  command: Of<'CreateTenant'>,
  state: TenantState,
  { principal }: DecideContext,
): Decision<TenantEvents> {
  if (!hasPlatformAdmin(principal)) return new AppError('forbidden', 'only a platform admin may create a tenant');
  if (state.status === 'active') return new AppError('conflict', `tenant ${command.tenantId} already exists`);
  if (state.status === 'deleted') {
    return new AppError('conflict', `tenant ${command.tenantId} existed and was deleted; its id cannot be reused`);
  }
  const tenantId = command.tenantId;
  return [
    { type: 'TenantCreated', tenantId, data: { tenantId, name: command.name, ownerId: principal.userId } },
    {
      type: 'MemberAdded',
      tenantId,
      data: { userId: principal.userId, email: principal.email.toLowerCase(), role: 'owner' },
    },
  ];
}

function renameTenant(
  command: Of<'RenameTenant'>,
  state: TenantState,
  { principal }: DecideContext,
): Decision<TenantEvents> {
  const role = changerRole(state, command.tenantId, principal);
  if (role instanceof AppError) return role;
  const refused = requireRole(role, 'admin', 'renaming a tenant');
  if (refused) return refused;
  if (state.name === command.name) return [];
  return [{ type: 'TenantRenamed', tenantId: command.tenantId, data: { name: command.name } }];
}

function deleteTenant(
  command: Of<'DeleteTenant'>,
  state: TenantState,
  { principal }: DecideContext,
): Decision<TenantEvents> {
  const role = changerRole(state, command.tenantId, principal);
  if (role instanceof AppError) return role;
  const refused = requireRole(role, 'owner', 'deleting a tenant');
  if (refused) return refused;
  if (command.podCount > 0) {
    const message = command.force
      ? `tenant ${command.tenantId} still has ${command.podCount} pod(s) after deleting its pods; try again`
      : `tenant ${command.tenantId} still has ${command.podCount} pod(s); delete them first, or delete with force`;
    return new AppError('conflict', message, { details: { pods: command.podCount } });
  }
  return [{ type: 'TenantDeleted', tenantId: command.tenantId, data: { podsDeleted: command.podsDeleted } }];
}

function inviteMember(
  command: Of<'InviteMember'>,
  state: TenantState,
  { principal, now }: DecideContext,
): Decision<TenantEvents> {
  const { tenantId, email, role } = command;
  const actorRole = changerRole(state, tenantId, principal);
  if (actorRole instanceof AppError) return actorRole;
  const refused = requireRole(actorRole, 'admin', 'inviting members') ?? requireNotAbove(actorRole, role, 'invite an');
  if (refused) return refused;
  if (Object.values(state.members).some((member) => member.email === email)) {
    return new AppError('conflict', `${email} is already a member of ${tenantId}`);
  }
  // Inviting an address again replaces its live invitation, so only the newest link works.
  const events: Events = [];
  for (const [invitationId, invitation] of Object.entries(state.invitations)) {
    if (invitation.email !== email || !isLive(invitation, now)) continue;
    const above = requireNotAbove(actorRole, invitation.role, 'replace an invitation as');
    if (above) return above;
    events.push({ type: 'InvitationRevoked', tenantId, data: { invitationId } });
  }
  const expiresAt = new Date(now.getTime() + INVITATION_TTL_MS).toISOString();
  events.push({
    type: 'InvitationCreated',
    tenantId,
    data: { invitationId: command.invitationId, email, role, expiresAt, tokenHash: command.tokenHash },
  });
  return events;
}

function acceptInvitation(
  command: Of<'AcceptInvitation'>,
  state: TenantState,
  { principal, now }: DecideContext,
): Decision<TenantEvents> {
  const { tenantId } = command;
  const found = Object.entries(state.invitations).find(([, invitation]) => invitation.tokenHash === command.tokenHash);
  if (!found || state.status !== 'active') return new AppError('not_found', 'this invitation does not exist');
  const [invitationId, invitation] = found;
  if (isReadOnly(principal)) return readOnlyRefused();
  if (principal.tokenTenantId !== undefined && principal.tokenTenantId !== tenantId) {
    return new AppError('forbidden', 'this API token is confined to another tenant');
  }
  if (principal.email.toLowerCase() !== invitation.email) {
    return new AppError('forbidden', 'this invitation was sent to another address; sign in with the invited address');
  }
  if (invitation.status !== 'pending')
    return new AppError('conflict', `this invitation was already ${invitation.status}`);
  if (!isLive(invitation, now)) return new AppError('conflict', 'this invitation has expired; ask for a new one');
  const accepted: Events[number] = {
    type: 'InvitationAccepted',
    tenantId,
    data: { invitationId, userId: principal.userId },
  };
  const member = state.members[principal.userId];
  if (!member) {
    const data = { userId: principal.userId, email: invitation.email, role: invitation.role };
    return [{ type: 'MemberAdded', tenantId, data }, accepted];
  }
  // Already a member (e.g. a retry after a crash between the two events): keep the higher of the two roles.
  if (roleRank(invitation.role) <= roleRank(member.role)) return [accepted];
  const data = { userId: principal.userId, role: invitation.role };
  return [{ type: 'MemberRoleChanged', tenantId, data }, accepted];
}

function revokeInvitation(
  command: Of<'RevokeInvitation'>,
  state: TenantState,
  { principal }: DecideContext,
): Decision<TenantEvents> {
  const actorRole = changerRole(state, command.tenantId, principal);
  if (actorRole instanceof AppError) return actorRole;
  const refused = requireRole(actorRole, 'admin', 'revoking invitations');
  if (refused) return refused;
  const invitation = state.invitations[command.invitationId];
  if (!invitation) return new AppError('not_found', `invitation ${command.invitationId} does not exist`);
  const above = requireNotAbove(actorRole, invitation.role, 'revoke an invitation as');
  if (above) return above;
  if (invitation.status === 'revoked') return [];
  if (invitation.status === 'accepted') return new AppError('conflict', 'this invitation was already accepted');
  return [{ type: 'InvitationRevoked', tenantId: command.tenantId, data: { invitationId: command.invitationId } }];
}

function changeMemberRole(
  command: Of<'ChangeMemberRole'>,
  state: TenantState,
  { principal }: DecideContext,
): Decision<TenantEvents> {
  const { tenantId, userId, role } = command;
  const actorRole = changerRole(state, tenantId, principal);
  if (actorRole instanceof AppError) return actorRole;
  const refused = requireRole(actorRole, 'admin', 'changing roles');
  if (refused) return refused;
  const member = state.members[userId];
  if (!member) return new AppError('not_found', `${userId} is not a member of ${tenantId}`);
  const limit =
    requireNotAbove(actorRole, member.role, 'change the role of an') ?? requireNotAbove(actorRole, role, 'grant');
  if (limit) return limit;
  if (member.role === role) return [];
  if (member.role === 'owner' && ownerCount(state) === 1) {
    return new AppError('conflict', `${member.email} is the last owner of ${tenantId}; make someone else owner first`);
  }
  return [{ type: 'MemberRoleChanged', tenantId, data: { userId, role } }];
}

function removeMember(
  command: Of<'RemoveMember'>,
  state: TenantState,
  { principal }: DecideContext,
): Decision<TenantEvents> {
  const { tenantId, userId } = command;
  const actorRole = changerRole(state, tenantId, principal);
  if (actorRole instanceof AppError) return actorRole;
  const member = state.members[userId];
  const leaving = userId === principal.userId;
  if (!leaving) {
    const refused = requireRole(actorRole, 'admin', 'removing members');
    if (refused) return refused;
  }
  if (!member) return new AppError('not_found', `${userId} is not a member of ${tenantId}`);
  if (!leaving) {
    const above = requireNotAbove(actorRole, member.role, 'remove an');
    if (above) return above;
  }
  if (member.role === 'owner' && ownerCount(state) === 1) {
    return new AppError('conflict', `${member.email} is the last owner of ${tenantId}; make someone else owner first`);
  }
  return [{ type: 'MemberRemoved', tenantId, data: { userId } }];
}
