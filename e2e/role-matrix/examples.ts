import { BOOTSTRAP_HEADER, type RouteName, type TenantRole } from '@agentpod/contracts';
import type { LightMyRequestResponse } from 'fastify';
import { type ConversationWorld, conversationWorld, expectAnswered } from './ai.ts';
import {
  type AlertRuleWorld,
  alertRuleWorld,
  MATRIX_WEBHOOK_URL,
  PLATFORM_RULE,
  TENANT_RULE,
  type WebhookWorld,
  webhookWorld,
} from './alerts.ts';
import type { Matrix } from './fixtures.ts';
import { type PodWorld, podWorld } from './pods.ts';
import type { Caller } from './policy.ts';
import { reconcilerStandIn } from './reconciler.ts';
import { cancelRunningRollouts, MATRIX_ROLLOUT_IMAGE, type RolloutWorld, rolloutWorld } from './rollouts.ts';
import { expectContent, type WorkspaceWorld, workspaceWorld } from './workspace.ts';
import { BOOTSTRAP_SECRET, type Credential } from './world.ts';

/*
 * For each route, a request that succeeds for a caller the matrix allows (so an allowed caller gets the route's
 * success status, not some unrelated refusal), built fresh for every caller: destructive calls get their own
 * tenant, member, invitation or token. A route added to the table without an example here does not compile,
 * and fails the matrix test.
 */

export type Example = {
  params?: Record<string, string>;
  query?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Credentials to send instead of the caller's own (a fresh session of the same user). */
  as?: Credential;
  /** The status that means success, when it is not the route's own. */
  success?: number;
  after?: (response: LightMyRequestResponse) => Promise<void> | void;
};

type Build = (m: Matrix, caller: Caller) => Promise<Example>;

const SOME_USER = `usr_${'0'.repeat(24)}`;
const SOME_TOKEN_ID = `tok_${'0'.repeat(24)}`;
const SOME_INVITATION = `apv_${'a'.repeat(43)}`;
const ACME = { tenant: 'acme' };

/** The examples of one matrix run (they keep a little state: acme's `target` member and its role). */
export function createExamples(): Record<RouteName, Build> {
  let target: string | undefined;
  let targetRole: TenantRole = 'viewer';
  let world: PodWorld | undefined;
  let hooks: WebhookWorld | undefined;
  const webhooks = (m: Matrix) => {
    hooks ??= webhookWorld(m);
    return hooks;
  };
  const sharedHook = async (m: Matrix) => ({ tenant: 'acme', webhook: await webhooks(m).shared() });
  let rules: AlertRuleWorld | undefined;
  const alerting = (m: Matrix) => {
    rules ??= alertRuleWorld(m);
    return rules;
  };
  const firing = async (m: Matrix) => ({ alert: await alerting(m).firingAlert() });
  let files: WorkspaceWorld | undefined;
  const workspace = (m: Matrix) => {
    files ??= workspaceWorld(m, pods(m));
    return files;
  };
  const filesPod = async (m: Matrix) => ({ tenant: 'acme', pod: await workspace(m).pod() });
  const filesNode = async (m: Matrix) => ({ node: await workspace(m).node() });
  let chats: ConversationWorld | undefined;
  const conversations = (m: Matrix) => {
    chats ??= conversationWorld(m);
    return chats;
  };
  const pods = (m: Matrix) => {
    world ??= podWorld(m);
    return world;
  };
  const shared = async (m: Matrix) => ({ tenant: 'acme', pod: await pods(m).sharedPod() });
  let upgrades: RolloutWorld | undefined;
  const rollouts = (m: Matrix) => {
    upgrades ??= rolloutWorld(m, pods(m));
    return upgrades;
  };
  return {
    requestMagicLink: async (m) => ({ body: { email: `${m.unique('nobody')}@example.test` } }),

    // A browser that signs in again ends the session it held: the caller signs back in afterwards.
    redeemMagicLink: async (m, caller) => ({
      body: { token: await m.spareLinkToken() },
      after: () => m.refresh(caller),
    }),

    signOut: async (m, caller) => {
      const fresh = await m.freshSession(caller);
      return fresh ? { as: fresh } : {};
    },

    signOutEverywhere: async (m, caller) => ({ after: () => m.refresh(caller) }),

    whoami: async () => ({}),

    // After the bootstrap, every caller that holds the secret gets conflict: nobody can become a second first admin.
    bootstrap: async () => ({
      headers: { [BOOTSTRAP_HEADER]: BOOTSTRAP_SECRET },
      body: { email: 'someone-else@example.test' },
      success: 409,
    }),

    listUsers: async () => ({}),

    setUserDisabled: async (m, caller) => ({
      params: { userId: caller === 'platformAdmin' ? (await m.spareSession()).userId : SOME_USER },
      body: { disabled: true },
    }),

    replay: async () => ({ body: { service: 'tenants', swap: false } }),

    listTenants: async () => ({}),

    createTenant: async (m) => ({ body: { id: m.unique('made'), name: 'Made by the matrix' } }),

    getTenant: async () => ({ params: ACME }),

    renameTenant: async (m) => ({ params: ACME, body: { name: `Acme ${m.unique('name')}` } }),

    deleteTenant: async (m) => {
      const tenant = m.unique('doomed');
      await m.tenantWithRoles(tenant);
      return { params: { tenant } };
    },

    listMembers: async () => ({ params: ACME }),

    inviteMember: async (m) => ({
      params: ACME,
      body: { email: `${m.unique('invitee')}@example.test`, role: 'viewer' },
    }),

    changeMemberRole: async (m) => {
      target ??= (await m.addMember('acme', 'target@example.test', 'viewer')).userId;
      const role: TenantRole = targetRole === 'viewer' ? 'member' : 'viewer';
      return {
        params: { tenant: 'acme', userId: target },
        body: { role },
        after: (response) => {
          if (response.statusCode === 200) targetRole = role;
        },
      };
    },

    removeMember: async (m) => {
      const leaver = await m.addMember('acme', `${m.unique('removed')}@example.test`, 'viewer');
      return { params: { tenant: 'acme', userId: leaver.userId } };
    },

    listInvitations: async () => ({ params: ACME }),

    revokeInvitation: async (m) => {
      const { id } = await m.world.invite(m.root, 'acme', `${m.unique('revoked')}@example.test`, 'viewer');
      return { params: { tenant: 'acme', invitationId: id } };
    },

    acceptInvitation: async (m, caller) => {
      const session = m.session(caller);
      if (!session) return { body: { token: SOME_INVITATION } };
      const tenant = m.unique('joinable');
      await m.hostedTenant(tenant);
      const { token } = await m.world.invite(m.root, tenant, session.email, 'viewer');
      return { body: { token } };
    },

    listTokens: async () => ({}),

    createToken: async (m) => ({ body: { name: m.unique('matrix'), role: 'viewer' } }),

    revokeToken: async (m, caller) => {
      const session = m.session(caller);
      if (!session) return { params: { tokenId: SOME_TOKEN_ID } };
      const created = await m.world.must<{ view: { id: string } }>(201, {
        method: 'POST',
        url: '/api/v1/tokens',
        as: session,
        body: { name: m.unique('to-revoke'), role: 'viewer' },
      });
      return { params: { tokenId: created.view.id } };
    },

    audit: async () => ({}),

    events: async () => ({ query: 'limit=5' }),

    listNodes: async () => ({}),

    addNode: async (m) => ({ body: { name: m.unique('pool') } }),

    addTenantNode: async (m) => ({ params: ACME, body: { name: m.unique('own') } }),

    getNode: async (m) => ({ params: { node: (await pods(m).acmeNode()).node.name } }),

    removeNode: async (m) => ({ params: { node: (await pods(m).freshAcmeNode()).node.id } }),

    issueNodeJoinToken: async (m) => ({ params: { node: (await pods(m).acmeNode()).node.id } }),

    // Each caller redeems a join token of its own: a token works once.
    agentJoin: async (m) => ({ body: { token: await pods(m).joinToken() } }),

    // Whoever holds the host's bootstrap secret gets the local node's join token (added once, then reused).
    localNode: async () => ({ headers: { [BOOTSTRAP_HEADER]: BOOTSTRAP_SECRET } }),

    listPods: async () => ({}),

    listTenantPods: async () => ({ params: ACME }),

    createPod: async (m) => ({ params: ACME, body: await pods(m).podBody(m.unique('made-pod')) }),

    getPod: async (m) => ({ params: await shared(m) }),

    updatePod: async (m) => ({ params: await shared(m), body: { env: { MATRIX: m.unique('run') } } }),

    deletePod: async (m) => ({ params: { tenant: 'acme', pod: await pods(m).freshPod() } }),

    stopPod: async (m) => ({ params: await shared(m) }),

    startPod: async (m) => ({ params: await shared(m) }),

    restartPod: async (m) => ({ params: await shared(m) }),

    podToken: async (m) => ({ params: await shared(m) }),

    podSecrets: async (m) => ({ params: await shared(m) }),

    rotatePodToken: async (m) => ({ params: await shared(m) }),

    podLogs: async (m) => ({ params: await shared(m), query: 'tail=5' }),

    // Each caller upgrades a pod of its own: a pod is in at most one running rollout.
    startTenantRollout: async (m) => ({
      params: ACME,
      body: { pods: [await pods(m).freshPod()], image: MATRIX_ROLLOUT_IMAGE },
    }),

    // Every running pod of every tenant: the shared pod at least (fresh pods have no container yet).
    startRollout: async (m) => {
      await pods(m).sharedPod();
      await cancelRunningRollouts(m);
      return { body: { all: true, image: MATRIX_ROLLOUT_IMAGE }, after: () => cancelRunningRollouts(m) };
    },

    listRollouts: async () => ({}),

    getRollout: async (m) => ({ params: { rollout: await rollouts(m).shared() } }),

    cancelRollout: async (m) => ({ params: { rollout: await rollouts(m).fresh() } }),

    discoverContainers: async () => ({}),

    // No agent runs in the matrix: a caller past the access check reaches acme's never-joined node, which answers
    // `unavailable`; the refusals come before that.
    adoptPod: async (m) => ({
      params: { tenant: 'acme', pod: 'adopted' },
      body: { container: 'legacy', node: (await pods(m).acmeNode()).node.name },
      success: 503,
    }),

    listAlerts: async () => ({ query: 'state=firing' }),

    listWebhooks: async () => ({ params: ACME }),

    addWebhook: async () => ({ params: ACME, body: { url: MATRIX_WEBHOOK_URL, events: ['alert.fired'] } }),

    removeWebhook: async (m) => ({ params: { tenant: 'acme', webhook: await webhooks(m).fresh() } }),

    testWebhook: async (m) => ({ params: await sharedHook(m) }),

    listWebhookDeliveries: async (m) => ({ params: await sharedHook(m), query: 'limit=5' }),

    reconcilePlan: async (m) => {
      reconcilerStandIn(m);
      return { query: 'tenant=acme' };
    },

    reconcile: async (m) => {
      reconcilerStandIn(m);
      return { body: {} };
    },

    doctor: async () => ({}),

    podMetrics: async (m) => ({ params: await shared(m), query: 'range=1h' }),

    // acme's node: visible to acme's members, who may read its series (none: no agent reports; still a success).
    nodeMetrics: async (m) => ({ params: { node: (await pods(m).acmeNode()).node.id }, query: 'range=24h' }),

    top: async () => ({}),

    // Pod files: acme/files has a volume, and a stand-in agent on its node answers for it (workspace.ts).
    listPodFiles: async (m) => ({ params: await filesPod(m), query: 'path=/' }),

    downloadPodFile: async (m) => ({ params: await filesPod(m), query: 'path=/README.md', after: expectContent }),

    uploadPodFile: async (m) => ({
      params: await filesPod(m),
      query: `path=/${m.unique('upload')}.txt`,
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from('uploaded by the matrix\n'),
    }),

    mkdirPodFile: async (m) => ({ params: await filesPod(m), body: { path: `/${m.unique('dir')}` } }),

    movePodFile: async (m) => ({ params: await filesPod(m), body: { from: '/README.md', to: '/README.txt' } }),

    chmodPodFile: async (m) => ({ params: await filesPod(m), body: { path: '/README.md', mode: '644' } }),

    deletePodFile: async (m) => ({ params: await filesPod(m), query: `path=/${m.unique('gone')}.txt` }),

    // Node files: acme's own node (its owners and platform admins), with a stand-in agent.
    listNodeFiles: async (m) => ({ params: await filesNode(m), query: 'path=/' }),

    downloadNodeFile: async (m) => ({
      params: await filesNode(m),
      query: 'path=/srv/README.md',
      after: expectContent,
    }),

    uploadNodeFile: async (m) => ({
      params: await filesNode(m),
      query: `path=/srv/${m.unique('upload')}.txt`,
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from('uploaded by the matrix\n'),
    }),

    mkdirNodeFile: async (m) => ({ params: await filesNode(m), body: { path: `/srv/${m.unique('dir')}` } }),

    moveNodeFile: async (m) => ({ params: await filesNode(m), body: { from: '/srv/a', to: '/srv/b' } }),

    chmodNodeFile: async (m) => ({ params: await filesNode(m), body: { path: '/srv/a', mode: '640' } }),

    deleteNodeFile: async (m) => ({ params: await filesNode(m), query: `path=/srv/${m.unique('gone')}` }),

    // One firing alert of acme for every caller: acknowledging again changes nothing, a new silence replaces one.
    ackAlert: async (m) => ({ params: await firing(m) }),

    silenceAlert: async (m) => ({ params: await firing(m), body: { for: '30m' } }),

    listAlertEmails: async (m) => ({ params: await firing(m), query: 'limit=5' }),

    listTenantAlertRules: async () => ({ params: ACME }),

    addTenantAlertRule: async (m) => ({ params: ACME, body: { ...TENANT_RULE, name: m.unique('added rule') } }),

    removeTenantAlertRule: async (m) => ({
      params: { tenant: 'acme', rule: await alerting(m).freshTenantRule() },
    }),

    silenceTenantAlertRule: async (m) => ({
      params: { tenant: 'acme', rule: await alerting(m).sharedTenantRule() },
      body: { for: '1h' },
    }),

    listPlatformAlertRules: async () => ({}),

    addPlatformAlertRule: async (m) => ({ body: { ...PLATFORM_RULE, name: m.unique('added rule') } }),

    removePlatformAlertRule: async (m) => ({ params: { rule: await alerting(m).freshPlatformRule() } }),

    silencePlatformAlertRule: async (m) => ({
      params: { rule: await alerting(m).sharedPlatformRule() },
      body: { for: '1h' },
    }),

    // The assistant answers from the fake provider (world.ts); a streamed answer is a 200 with NDJSON lines.
    aiAsk: async (m) => ({
      params: ACME,
      body: { message: `How is acme? (${m.unique('ask')})` },
      after: expectAnswered,
    }),

    aiDiagnose: async (m) => ({ params: await shared(m), after: expectAnswered }),

    podDiagnosis: async (m) => ({ params: await shared(m) }),

    // The fake provider answers with one plain pod: a success that validated it, not one that refused everything.
    aiGenerate: async () => ({
      params: ACME,
      body: { prompt: 'a web server' },
      after: (response) => {
        if (response.statusCode === 200 && (response.json() as { pods: unknown[] }).pods.length !== 1) {
          throw new Error(`the generated pod was not offered: ${response.body}`);
        }
      },
    }),

    listConversations: async () => ({ params: ACME }),

    getConversation: async (m, caller) => ({
      params: { tenant: 'acme', conversation: await conversations(m).own(caller) },
    }),

    deleteConversation: async (m, caller) => ({
      params: { tenant: 'acme', conversation: await conversations(m).fresh(caller) },
    }),

    getAiConfig: async () => ({ params: ACME }),

    setAiConfig: async (m) => ({ params: ACME, body: { model: m.unique('matrix-model') } }),

    tenantAiUsage: async () => ({ params: ACME }),

    aiUsage: async () => ({}),
  };
}

/** The request path of a route with its parameters filled in. */
export function pathOf(path: string, params: Record<string, string> = {}): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, (_match, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`no value for :${name} in ${path}`);
    return encodeURIComponent(value);
  });
}
