import assert from 'node:assert/strict';
import { AppError, type ErrorCode, type EventOf, type Principal, type TenantRole } from '@agentpod/contracts';
import { decide, type TenantCommand } from './decide.ts';
import { evolve, initialState, type TenantEvent, type TenantEvents, type TenantState } from './events.ts';

/* Given / when / then for the tenant decider: no NATS, no database, a fixed clock. */

export const T = 'acme';
export const NOW = new Date('2026-03-01T12:00:00.000Z');
export const HASH = 'a'.repeat(64);
export const OTHER_HASH = 'b'.repeat(64);

const user = (name: string) => `usr_${name.padEnd(20, '0')}`;
export const ids = {
  admin: user('platformadmin'),
  owner: user('owner'),
  owner2: user('ownertwo'),
  tadmin: user('tenantadmin'),
  member: user('member'),
  viewer: user('viewer'),
  stranger: user('stranger'),
  bob: user('bob'),
};

export function principal(who: keyof typeof ids, extra: Partial<Principal> = {}): Principal {
  return {
    userId: ids[who],
    email: `${who}@example.com`,
    platformAdmin: who === 'admin',
    via: 'session',
    ...extra,
  };
}

/** The same person through an API token capped at `tokenRole`. */
export const viaToken = (who: keyof typeof ids, tokenRole: 'viewer' | 'member' | 'admin', tokenTenantId?: string) =>
  principal(who, {
    via: 'token',
    tokenId: 'tok_aaaaaaaaaaaaaaaaaaaaaaaa',
    tokenRole,
    ...(tokenTenantId ? { tokenTenantId } : {}),
  });

type NewTenantEvent = EventOf<TenantEvents>;

export const added = (who: keyof typeof ids, role: TenantRole): NewTenantEvent => ({
  type: 'MemberAdded',
  data: { userId: ids[who], email: `${who}@example.com`, role },
});

export const created: NewTenantEvent = {
  type: 'TenantCreated',
  data: { tenantId: T, name: 'Acme', ownerId: ids.owner },
};

/** Acme with an owner, an admin, a member and a viewer. */
export const team: NewTenantEvent[] = [
  created,
  added('owner', 'owner'),
  added('tadmin', 'admin'),
  added('member', 'member'),
  added('viewer', 'viewer'),
];

export function invited(
  email: string,
  role: TenantRole,
  options: { id?: string; hash?: string; expiresAt?: string } = {},
): NewTenantEvent {
  return {
    type: 'InvitationCreated',
    data: {
      invitationId: options.id ?? 'inv_aaaaaaaaaaaaaaaaaaaaaaaa',
      email,
      role,
      expiresAt: options.expiresAt ?? '2026-03-05T00:00:00.000Z',
      tokenHash: options.hash ?? HASH,
    },
  };
}

/** Folds events as if they had been stored one minute apart, before NOW. */
export function given(...events: NewTenantEvent[]): TenantState {
  return events.reduce<TenantState>((state, event, index) => {
    const envelope = {
      id: `0190a000-0000-7000-8000-${String(index).padStart(12, '0')}`,
      type: event.type,
      aggregateId: T,
      tenantId: T,
      actor: { kind: 'user' as const, id: ids.owner },
      occurredAt: new Date(NOW.getTime() - (events.length - index) * 60_000).toISOString(),
      correlationId: 'corr',
      causationId: 'corr',
      version: index + 1,
      data: event.data,
    } as TenantEvent;
    return evolve(state, envelope);
  }, initialState);
}

export function when(state: TenantState, command: TenantCommand, as: Principal, now = NOW) {
  return decide(command, state, { principal: as, now });
}

/** The decision is these events (types and data, ignoring the tenantId tag checked separately). */
export function thenEvents(decision: ReturnType<typeof when>, expected: NewTenantEvent[]): void {
  assert.ok(
    !(decision instanceof AppError),
    `expected events, got ${decision instanceof AppError ? `${decision.code}: ${decision.message}` : ''}`,
  );
  assert.deepEqual(
    decision.map(({ type, data }) => ({ type, data })),
    expected.map(({ type, data }) => ({ type, data })),
  );
  for (const event of decision) assert.equal(event.tenantId, (event.data as { tenantId?: string }).tenantId ?? T);
}

export function thenRefused(decision: ReturnType<typeof when>, code: ErrorCode, message?: RegExp): void {
  assert.ok(decision instanceof AppError, `expected ${code}, got events ${JSON.stringify(decision)}`);
  assert.equal(decision.code, code, decision.message);
  if (message) assert.match(decision.message, message);
}
