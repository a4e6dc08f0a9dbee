import type { TenantRole } from '@agentpod/contracts';
import type { Caller } from './policy.ts';
import { type Credential, type Session, startWorld, type Token, type World } from './world.ts';

/*
 * The people of the matrix: a platform admin who is no member of `acme`; owner, admin, member and viewer of
 * `acme`; the owner of `other`; the owner's unscoped viewer-capped token. Tenants are created by the platform
 * admin, who then leaves them, so its rights in them come from being platform admin alone.
 */

export const ROLES_IN_ACME = ['owner', 'admin', 'member', 'viewer'] as const;
const ROOT_EMAIL = 'root@example.test';
const emailOf = (who: string) => `${who}@example.test`;

type SessionCaller = Exclude<Caller, 'viewerToken' | 'anonymous'>;

export type Matrix = {
  world: World;
  sessions: Record<SessionCaller, Session>;
  viewerToken: Token;
  /** The credential a caller presents; undefined for anonymous. */
  credential(caller: Caller): Credential | undefined;
  /** The session of a caller that has one. */
  session(caller: Caller): Session | undefined;
  /** Signs the caller in again (after "sign out everywhere"). */
  refresh(caller: Caller): Promise<void>;
  /** A new session of the caller's own user (to sign out without losing the matrix's session). */
  freshSession(caller: Caller): Promise<Session | undefined>;
  /** A tenant with owner, admin, member and viewer as in `acme`, and no platform admin membership. */
  tenantWithRoles(id: string): Promise<void>;
  /** A tenant owned by a host nobody in the matrix is, for invitations the callers can accept. */
  hostedTenant(id: string): Promise<void>;
  /** Invites `email` to `tenant` with `role`, signs them in and accepts: a new member. */
  addMember(tenant: string, email: string, role: TenantRole): Promise<Session>;
  /** A user that exists (invited, never joined), with a fresh sign-in link token. */
  spareLinkToken(): Promise<string>;
  /** A session of a new user that exists (invited, never joined). */
  spareSession(): Promise<Session>;
  /** A fresh name. */
  unique(prefix: string): string;
  root: Session;
};

export async function setupMatrix(): Promise<Matrix> {
  const world = await startWorld();
  try {
    let counter = 0;
    const unique = (prefix: string) => `${prefix}-${++counter}`;
    const sessions = { platformAdmin: await world.redeem(world.bootstrapped.signInLink) } as Record<
      SessionCaller,
      Session
    >;
    // The platform admin's current session (it changes when the matrix signs it out everywhere).
    const root = () => sessions.platformAdmin;
    const emails: Record<SessionCaller, string> = {
      platformAdmin: ROOT_EMAIL,
      owner: emailOf('owner'),
      admin: emailOf('admin'),
      member: emailOf('member'),
      viewer: emailOf('viewer'),
      otherTenant: emailOf('outsider'),
    };
    const join = async (tenant: string, who: SessionCaller | Session, role: TenantRole) => {
      const email = typeof who === 'string' ? emails[who] : who.email;
      const { token } = await world.invite(root(), tenant, email, role);
      if (typeof who === 'string') sessions[who] ??= await world.signIn(email);
      const session = typeof who === 'string' ? sessions[who] : who;
      await world.must(200, { method: 'POST', url: '/api/v1/invitations/accept', as: session, body: { token } });
    };
    const createAndLeave = async (id: string, populate: () => Promise<void>) => {
      await world.must(201, { method: 'POST', url: '/api/v1/tenants', as: root(), body: { id, name: `Tenant ${id}` } });
      await populate();
      await world.must(204, { method: 'DELETE', url: `/api/v1/tenants/${id}/members/${root().userId}`, as: root() });
    };
    const tenantWithRoles = (id: string) =>
      createAndLeave(id, async () => {
        for (const role of ROLES_IN_ACME) await join(id, role, role);
      });
    await tenantWithRoles('acme');
    await createAndLeave('other', () => join('other', 'otherTenant', 'owner'));
    const created = await world.must<{ token: string; view: { id: string } }>(201, {
      method: 'POST',
      url: '/api/v1/tokens',
      as: sessions.owner,
      body: { name: 'read-only', role: 'viewer' },
    });
    const viewerToken: Token = { kind: 'token', token: created.token, tokenId: created.view.id };

    let host: Session | undefined;
    const addMember = async (tenant: string, email: string, role: TenantRole) => {
      const { token } = await world.invite(root(), tenant, email, role);
      const session = await world.signIn(email);
      await world.must(200, { method: 'POST', url: '/api/v1/invitations/accept', as: session, body: { token } });
      return session;
    };
    const session = (caller: Caller) =>
      caller === 'viewerToken' || caller === 'anonymous' ? undefined : sessions[caller];
    return {
      world,
      get root() {
        return root();
      },
      sessions,
      viewerToken,
      unique,
      tenantWithRoles,
      addMember,
      session,
      credential: (caller) => (caller === 'viewerToken' ? viewerToken : session(caller)),
      async refresh(caller) {
        if (caller === 'viewerToken' || caller === 'anonymous') return;
        sessions[caller] = await world.signIn(emails[caller]);
      },
      async freshSession(caller) {
        if (caller === 'viewerToken' || caller === 'anonymous') return undefined;
        return world.signIn(emails[caller]);
      },
      hostedTenant: (id) =>
        createAndLeave(id, async () => {
          if (host) await join(id, host, 'owner');
          else host = await addMember(id, emailOf('host'), 'owner');
        }),
      async spareLinkToken() {
        const email = emailOf(unique('spare'));
        await world.invite(root(), 'acme', email, 'viewer');
        await world.must(202, { method: 'POST', url: '/api/v1/auth/magic-link', body: { email } });
        return world.signInToken(email);
      },
      async spareSession() {
        const email = emailOf(unique('spare'));
        await world.invite(root(), 'acme', email, 'viewer');
        return world.signIn(email);
      },
    };
  } catch (error) {
    await world.stop();
    throw error;
  }
}
