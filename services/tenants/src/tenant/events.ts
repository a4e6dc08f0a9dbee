import { type EnvelopeOf, type TenantRole, tenantEvents } from '@agentpod/contracts';
import type { AggregateDefinition } from '@agentpod/kit';

export type TenantEvents = typeof tenantEvents;
export type TenantEvent = EnvelopeOf<TenantEvents>;

export type Member = { email: string; role: TenantRole; joinedAt: string };

export type Invitation = {
  email: string;
  role: TenantRole;
  tokenHash: string;
  createdAt: string;
  expiresAt: string;
  /** `expired` is not a state: it is `pending` past `expiresAt`. */
  status: 'pending' | 'accepted' | 'revoked';
};

/** A tenant as its events tell it. `none`: never created; `deleted`: gone for good (slugs are not reused). */
export type TenantState = {
  status: 'none' | 'active' | 'deleted';
  id: string;
  name: string;
  createdAt: string;
  members: Readonly<Record<string, Member>>;
  invitations: Readonly<Record<string, Invitation>>;
};

export const initialState: TenantState = {
  status: 'none',
  id: '',
  name: '',
  createdAt: '',
  members: {},
  invitations: {},
};

function without<T>(record: Readonly<Record<string, T>>, key: string): Record<string, T> {
  const { [key]: _removed, ...rest } = record;
  return rest;
}

function settle(state: TenantState, invitationId: string, status: Invitation['status']): TenantState {
  const invitation = state.invitations[invitationId];
  if (!invitation) return state;
  return { ...state, invitations: { ...state.invitations, [invitationId]: { ...invitation, status } } };
}

/** The pure fold of a tenant's events. Times come from the events, never from a clock. */
export function evolve(state: TenantState, event: TenantEvent): TenantState {
  switch (event.type) {
    case 'TenantCreated':
      return {
        ...state,
        status: 'active',
        id: event.data.tenantId,
        name: event.data.name,
        createdAt: event.occurredAt,
      };
    case 'TenantRenamed':
      return { ...state, name: event.data.name };
    case 'TenantDeleted':
      // Every membership ends with the tenant; invitations can no longer be accepted (the tenant is not active).
      return { ...state, status: 'deleted', members: {} };
    case 'MemberAdded': {
      const { userId, email, role } = event.data;
      return { ...state, members: { ...state.members, [userId]: { email, role, joinedAt: event.occurredAt } } };
    }
    case 'MemberRoleChanged': {
      const member = state.members[event.data.userId];
      if (!member) return state;
      return { ...state, members: { ...state.members, [event.data.userId]: { ...member, role: event.data.role } } };
    }
    case 'MemberRemoved':
      return { ...state, members: without(state.members, event.data.userId) };
    case 'InvitationCreated': {
      const { invitationId, email, role, tokenHash, expiresAt } = event.data;
      const invitation: Invitation = {
        email,
        role,
        tokenHash,
        createdAt: event.occurredAt,
        expiresAt,
        status: 'pending',
      };
      return { ...state, invitations: { ...state.invitations, [invitationId]: invitation } };
    }
    case 'InvitationAccepted':
      return settle(state, event.data.invitationId, 'accepted');
    case 'InvitationRevoked':
      return settle(state, event.data.invitationId, 'revoked');
    default: {
      const unknown: never = event;
      throw new Error(`unhandled tenant event ${(unknown as TenantEvent).type}`);
    }
  }
}

export const tenantAggregate: AggregateDefinition<TenantState, TenantEvents> = {
  context: 'tenants',
  events: tenantEvents,
  initialState,
  evolve,
};

/** Members holding `owner` by membership (a platform admin's implied ownership does not count). */
export const ownerCount = (state: TenantState): number =>
  Object.values(state.members).filter((member) => member.role === 'owner').length;

export const isLive = (invitation: Invitation, now: Date): boolean =>
  invitation.status === 'pending' && Date.parse(invitation.expiresAt) > now.getTime();
