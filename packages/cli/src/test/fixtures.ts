import type { ApiTokenView, MemberView, Principal, TenantView, UserView } from '@agentpod/contracts';

/** Valid wire objects for the fake gateway's answers (the CLI validates every answer against the contracts). */

export const ADMIN_ID = 'usr_admin0000000000000000';
export const BOB_ID = 'usr_bob000000000000000000';
export const TOKEN_ID = 'tok_cli000000000000000000';

export const adminUser: UserView = {
  id: ADMIN_ID,
  email: 'admin@example.com',
  platformAdmin: true,
  disabled: false,
  createdAt: '2025-01-01T00:00:00.000Z',
};

export const tokenPrincipal: Principal = {
  userId: ADMIN_ID,
  email: 'admin@example.com',
  platformAdmin: true,
  via: 'token',
  tokenId: TOKEN_ID,
  tokenRole: 'admin',
};

export const me = {
  principal: tokenPrincipal,
  memberships: [
    { tenantId: 'acme', role: 'owner' },
    { tenantId: 'globex', role: 'viewer' },
  ],
};

export const acme: TenantView = {
  id: 'acme',
  name: 'Acme Corp',
  status: 'active',
  createdAt: '2025-01-02T03:04:05.678Z',
  memberCount: 2,
  role: 'owner',
};

export const members: MemberView[] = [
  { userId: ADMIN_ID, email: 'admin@example.com', role: 'owner', joinedAt: '2025-01-02T03:04:05.000Z' },
  { userId: BOB_ID, email: 'bob@example.com', role: 'member', joinedAt: '2025-01-03T00:00:00.000Z' },
];

export const tokenView: ApiTokenView = {
  id: TOKEN_ID,
  name: 'ci',
  role: 'viewer',
  tenantId: 'acme',
  userId: ADMIN_ID,
  createdAt: '2025-01-01T00:00:00.000Z',
  expiresAt: '2025-01-31T00:00:00.000Z',
  revoked: false,
};

export const event = (n: number) => ({
  id: `0190a000-0000-7000-8000-00000000000${n}`,
  type: 'TenantRenamed',
  aggregateId: 'acme',
  tenantId: 'acme',
  actor: { kind: 'user', id: ADMIN_ID },
  occurredAt: `2025-01-02T03:04:0${n}.000Z`,
  correlationId: 'c',
  causationId: 'c',
  version: n,
  data: { name: `Acme ${n}` },
});
