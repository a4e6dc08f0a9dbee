import type { Principal, TenantRole, TenantView } from '@agentpod/contracts';
import { api, hasSessionCookie } from './api.ts';
import { atLeast } from './roles.ts';

/*
 * Who is signed in, the tenants they see (with their effective role in each, as the API computes it), and the
 * tenant the switcher has chosen ('' = all of them). The chosen tenant is remembered in this browser.
 */

type Me = { principal: Principal; memberships: { tenantId: string; role: TenantRole }[] };
const CURRENT_KEY = 'agentpod.tenant';

class Session {
  me = $state<Me | null>(null);
  tenants = $state.raw<TenantView[]>([]);
  /** The switcher's tenant; '' for all tenants. */
  current = $state('');

  get signedIn(): boolean {
    return this.me !== null;
  }

  get platformAdmin(): boolean {
    return this.me?.principal.platformAdmin ?? false;
  }

  get email(): string {
    return this.me?.principal.email ?? '';
  }

  /** Loads the caller once; false when nobody is signed in (no request is made without a session cookie). */
  async load(fetcher?: typeof fetch): Promise<boolean> {
    if (this.me) return true;
    if (!hasSessionCookie()) return false;
    try {
      const [me, tenants] = await Promise.all([
        api<Me>('GET', '/me', { fetch: fetcher }),
        api<{ tenants: TenantView[] }>('GET', '/tenants', { fetch: fetcher }),
      ]);
      this.me = me;
      this.setTenants(tenants.tenants);
      return true;
    } catch (error) {
      if ((error as { status?: number }).status === 401) return false;
      throw error;
    }
  }

  async reloadTenants(): Promise<void> {
    const [me, tenants] = await Promise.all([api<Me>('GET', '/me'), api<{ tenants: TenantView[] }>('GET', '/tenants')]);
    this.me = me;
    this.setTenants(tenants.tenants);
  }

  setTenants(tenants: TenantView[]): void {
    this.tenants = tenants.filter((tenant) => tenant.status === 'active');
    const remembered = localStorage.getItem(CURRENT_KEY) ?? '';
    const known = (id: string) => this.tenants.some((tenant) => tenant.id === id);
    this.current = known(remembered) ? remembered : this.tenants.length === 1 ? (this.tenants[0]?.id ?? '') : '';
  }

  choose(tenantId: string): void {
    this.current = tenantId;
    localStorage.setItem(CURRENT_KEY, tenantId);
  }

  /** The caller's effective role in a tenant (owner everywhere for a platform admin). */
  roleIn(tenantId: string): TenantRole | undefined {
    if (this.platformAdmin) return 'owner';
    return this.tenants.find((tenant) => tenant.id === tenantId)?.role;
  }

  can(tenantId: string, role: TenantRole): boolean {
    return atLeast(this.roleIn(tenantId), role);
  }

  /** Tenants where the caller holds at least `role`. */
  tenantsWhere(role: TenantRole): TenantView[] {
    return this.tenants.filter((tenant) => this.can(tenant.id, role));
  }

  forget(): void {
    this.me = null;
    this.tenants = [];
    this.current = '';
  }
}

export const session = new Session();
