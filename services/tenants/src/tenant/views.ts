import {
  type AcceptInvitationResult,
  effectiveRole,
  type InvitationView,
  type MemberView,
  type Principal,
  type TenantView,
} from '@agentpod/contracts';
import { type Invitation, isLive, type TenantState } from './events.ts';

/*
 * Views built from the aggregate's state: a command's reply describes the state it just produced, without a
 * round trip to the read model. The queries build the same shapes from the tables (read-model/rows.ts).
 */

export function tenantView(state: TenantState, principal: Principal): TenantView {
  const role = effectiveRole(principal, state.id, state.members[principal.userId]?.role);
  return {
    id: state.id,
    name: state.name,
    status: state.status === 'deleted' ? 'deleted' : 'active',
    createdAt: state.createdAt,
    memberCount: Object.keys(state.members).length,
    ...(role ? { role } : {}),
  };
}

export function memberView(state: TenantState, userId: string): MemberView | undefined {
  const member = state.members[userId];
  return member && { userId, email: member.email, role: member.role, joinedAt: member.joinedAt };
}

export function acceptedView(state: TenantState, userId: string): AcceptInvitationResult | undefined {
  const member = memberView(state, userId);
  return member && { ...member, tenantId: state.id };
}

export const invitationStatus = (invitation: Invitation, now: Date): InvitationView['status'] =>
  invitation.status === 'pending' && !isLive(invitation, now) ? 'expired' : invitation.status;

export function invitationView(state: TenantState, invitationId: string, now: Date): InvitationView | undefined {
  const invitation = state.invitations[invitationId];
  return (
    invitation && {
      id: invitationId,
      email: invitation.email,
      role: invitation.role,
      createdAt: invitation.createdAt,
      expiresAt: invitation.expiresAt,
      status: invitationStatus(invitation, now),
    }
  );
}
