import { type AccessRule, type RouteName, roleAtLeast, routes, type TenantRole } from '@agentpod/contracts';

/*
 * The documented role matrix (docs/roles.md) as data: who the callers of the matrix test are, and what each one
 * must get from each route. This restates the policy independently of the gateway's code, so a change to either
 * the gateway or the route table that moves an answer makes the test fail.
 */

export const CALLERS = [
  'platformAdmin',
  'owner',
  'admin',
  'member',
  'viewer',
  'viewerToken',
  'otherTenant',
  'anonymous',
] as const;
export type Caller = (typeof CALLERS)[number];

/** Column headings of the matrix in docs/roles.md, by caller. */
export const HEADINGS: Record<Caller, string> = {
  platformAdmin: 'platform admin',
  owner: 'owner',
  admin: 'admin',
  member: 'member',
  viewer: 'viewer',
  viewerToken: 'viewer token',
  otherTenant: 'other tenant',
  anonymous: 'anonymous',
};

type Traits = { signedIn: boolean; platformAdmin: boolean; readOnly: boolean; role?: TenantRole };

/**
 * What the test's callers are in the tenant a route acts on: the platform admin is no member (its rights come from
 * being platform admin), the viewer token is an unscoped token of the owner capped at viewer, and "other tenant"
 * owns another tenant and nothing here.
 */
const TRAITS: Record<Caller, Traits> = {
  platformAdmin: { signedIn: true, platformAdmin: true, readOnly: false, role: 'owner' },
  owner: { signedIn: true, platformAdmin: false, readOnly: false, role: 'owner' },
  admin: { signedIn: true, platformAdmin: false, readOnly: false, role: 'admin' },
  member: { signedIn: true, platformAdmin: false, readOnly: false, role: 'member' },
  viewer: { signedIn: true, platformAdmin: false, readOnly: false, role: 'viewer' },
  viewerToken: { signedIn: true, platformAdmin: false, readOnly: true, role: 'viewer' },
  otherTenant: { signedIn: true, platformAdmin: false, readOnly: false },
  anonymous: { signedIn: false, platformAdmin: false, readOnly: false },
};

/**
 * Where the owning service asks for more than the gateway's rule, for the request the matrix sends. Anyone in a
 * tenant may call DELETE …/members/:userId because anyone may leave; the matrix removes someone else, which
 * needs admin.
 */
type ServiceRule = { rule: AccessRule; why: string };

/** A node's shell and files (pods `nodeWorkspace`): its tenant's owners and platform admins; lower roles 403. */
const NODE_WORKSPACE: ServiceRule = {
  rule: { tenant: 'owner' },
  why: "a node's files are its tenant's owners' (and platform admins'); the tenant's other members get 403",
};

/** A tenant's alert: members and above act on it, viewers read it (the monitor, from the alert's tenant). */
const ALERT_ACTION: ServiceRule = {
  rule: { tenant: 'member' },
  why: "acknowledging or silencing an alert of a tenant needs member; the matrix acts on one of acme's",
};

export const SERVICE_RULES: Partial<Record<RouteName, ServiceRule>> = {
  removeMember: {
    rule: { tenant: 'admin' },
    why: 'removing someone else needs admin; leaving is open to every member',
  },
  getNode: {
    rule: { tenant: 'viewer' },
    why: "a node is visible to platform admins and to the members of the tenant that owns it; the matrix reads one of acme's",
  },
  removeNode: {
    rule: { tenant: 'owner' },
    why: "a tenant's owner removes the tenant's own nodes, a platform admin any node; the matrix removes acme's",
  },
  issueNodeJoinToken: {
    rule: { tenant: 'owner' },
    why: 'as for removing the node',
  },
  getRollout: {
    rule: { tenant: 'viewer' },
    why: "a rollout is visible to the members of its tenant (platform admins for one across tenants); the matrix reads one of acme's",
  },
  cancelRollout: {
    rule: { tenant: 'member' },
    why: "as for starting one: members of its tenant; the matrix cancels acme's",
  },
  nodeMetrics: {
    rule: { tenant: 'viewer' },
    why: "as for reading the node: platform admins and the members of the tenant that owns it; the matrix reads acme's",
  },
  listNodeFiles: NODE_WORKSPACE,
  downloadNodeFile: NODE_WORKSPACE,
  uploadNodeFile: NODE_WORKSPACE,
  mkdirNodeFile: NODE_WORKSPACE,
  moveNodeFile: NODE_WORKSPACE,
  chmodNodeFile: NODE_WORKSPACE,
  deleteNodeFile: NODE_WORKSPACE,
  ackAlert: ALERT_ACTION,
  silenceAlert: ALERT_ACTION,
  listAlertEmails: {
    rule: { tenant: 'viewer' },
    why: "whoever may read the alert: viewers of its tenant; the matrix reads one of acme's",
  },
};

/** The answer class a caller must get: `ok` (the route's success), or the refusal's status. */
export type Outcome = 'ok' | '401' | '403' | '404';

export function expectedOutcome(name: RouteName, caller: Caller): Outcome {
  const route = routes[name];
  const service = SERVICE_RULES[name];
  const rule = service?.rule ?? route.access;
  const traits = TRAITS[caller];
  if (rule === 'public') return 'ok';
  if (!traits.signedIn) return '401';
  if (route.method !== 'GET' && traits.readOnly) return '403';
  if (rule === 'signedIn') return 'ok';
  if (rule === 'platformAdmin') return traits.platformAdmin ? 'ok' : '403';
  if (traits.role === undefined) return '404';
  if (roleAtLeast(traits.role, rule.tenant)) return 'ok';
  return '403';
}

const describeRule = (rule: AccessRule): string => (typeof rule === 'string' ? rule : `tenant ${rule.tenant}`);

/** One row of the route table in docs/roles.md, exactly as the doc must state it. */
export function docRow(name: RouteName): string {
  const route = routes[name];
  const service = SERVICE_RULES[name];
  const serviceRule = service ? describeRule(service.rule) : '';
  const rule = describeRule(route.access) + (service ? ` (service: ${serviceRule})` : '');
  const cells = CALLERS.map((caller) => {
    const outcome = expectedOutcome(name, caller);
    return outcome === 'ok' ? '✓' : outcome;
  });
  return `| \`${route.method} ${route.path}\` | ${rule} | ${cells.join(' | ')} |`;
}

export const docHeader = (): string[] => [
  `| route | rule | ${CALLERS.map((c) => HEADINGS[c]).join(' | ')} |`,
  `| --- | --- | ${CALLERS.map(() => '---').join(' | ')} |`,
];
