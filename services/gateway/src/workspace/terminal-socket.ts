import { AppError, PodId, type Principal, TenantId, type TerminalTarget } from '@agentpod/contracts';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../api/context.ts';
import { type Credential, clearSessionCookies, readCredential } from '../auth/cookies.ts';
import { sameOrigin } from '../console/live/effects.ts';
import { authenticate, callerMeta, describeRef, locate, terminalTargetOf, type WorkspaceRef } from './targets.ts';
import { TerminalSession } from './terminal-session.ts';

/*
 * The terminal WebSockets:
 *   GET /api/v1/tenants/:tenant/pods/:pod/terminal   (member or above of the tenant: pods decides)
 *   GET /api/v1/nodes/:node/terminal                 (platform admin, or owner of the node's tenant: pods decides)
 * Everything is checked before the upgrade, so a refused client gets the API's JSON error and never a socket:
 * it must be an upgrade without a query string (credentials never travel in the URL); the credential is the
 * session cookie with the console's own Origin, or `Authorization: Bearer apt_…` (the CLI; an Origin, if sent,
 * must still be ours); identity accepts it; pods answers where the workspace is, for this caller.
 */

export const POD_TERMINAL_PATH = '/api/v1/tenants/:tenant/pods/:pod/terminal';
export const NODE_TERMINAL_PATH = '/api/v1/nodes/:node/terminal';

const PodParams = z.object({ tenant: TenantId, pod: PodId }).strict();
const NodeParams = z.object({ node: z.string().min(1).max(64) }).strict();

type Caller = {
  principal: Principal;
  credential: Credential;
  ref: WorkspaceRef;
  nodeId: string;
  target: TerminalTarget;
};

function refOf(url: string, params: unknown): WorkspaceRef {
  if (url === POD_TERMINAL_PATH) {
    const parsed = PodParams.safeParse(params);
    if (!parsed.success) throw new AppError('invalid', 'invalid path parameter: tenant and pod must be slugs');
    return { kind: 'pod', tenantId: parsed.data.tenant, podId: parsed.data.pod };
  }
  const parsed = NodeParams.safeParse(params);
  if (!parsed.success) throw new AppError('invalid', 'invalid path parameter: node');
  return { kind: 'node', node: parsed.data.node };
}

/** The caller's credential, checked against the Origin rule: a cookie needs our Origin, a Bearer any or none. */
function credentialOf(deps: ApiDeps, request: FastifyRequest): Credential {
  const origin = request.headers.origin;
  const ours =
    origin !== undefined && sameOrigin(origin, deps.options.publicUrl, `${request.protocol}://${request.host}`);
  if (origin !== undefined && !ours) {
    throw new AppError('forbidden', 'the terminal only serves the console’s own pages (wrong Origin)');
  }
  const credential = readCredential(request, deps.https);
  if (typeof credential === 'string') throw new AppError('unauthenticated', credential);
  if (!credential) {
    throw new AppError('unauthenticated', 'sign in: the session cookie, or Authorization: Bearer with an API token');
  }
  if (credential.kind === 'cookie' && !ours) {
    throw new AppError('forbidden', 'a terminal opened with the session cookie needs the console’s Origin');
  }
  return credential;
}

async function admit(deps: ApiDeps, request: FastifyRequest, reply: FastifyReply): Promise<Caller> {
  if (!request.ws) throw new AppError('invalid', 'this is a terminal WebSocket; upgrade to it');
  // A refused upgrade's connection is closed after the answer: say so, so no next request is sent on it.
  reply.header('connection', 'close');
  if (request.url.includes('?')) {
    throw new AppError('invalid', 'the terminal takes no query string: credentials go in a header or the cookie');
  }
  const ref = refOf(request.routeOptions.url ?? '', request.params);
  const credential = credentialOf(deps, request);
  let principal: Principal;
  try {
    principal = await authenticate(deps.nc, credential.value, request.id);
  } catch (error) {
    if (credential.kind === 'cookie' && error instanceof AppError && error.code === 'unauthenticated') {
      clearSessionCookies(reply, deps.https);
    }
    throw error;
  }
  const located = await locate(deps.nc, ref, callerMeta(principal, request.id, ref));
  return { principal, credential, ref, nodeId: located.nodeId, target: terminalTargetOf(ref, located) };
}

export const terminalSocketRoutes =
  (deps: ApiDeps): FastifyPluginAsync =>
  async (app) => {
    const sessions = new Set<TerminalSession>();
    const callers = new WeakMap<FastifyRequest, Caller>();
    app.addHook('preClose', async () => {
      for (const session of sessions) session.shutdown();
    });
    for (const url of [POD_TERMINAL_PATH, NODE_TERMINAL_PATH]) {
      app.route({
        method: 'GET',
        url,
        websocket: true,
        onRequest: async (request, reply) => {
          callers.set(request, await admit(deps, request, reply));
        },
        handler: (socket, request) => {
          const caller = callers.get(request);
          // Unreachable: the hook above either refused the request or recorded its caller.
          if (!caller) throw new Error('terminal socket upgraded without an admitted caller');
          const { ref, credential, nodeId } = caller;
          const logger = deps.logger.child({ requestId: request.id, terminal: describeRef(ref), nodeId });
          const session: TerminalSession = new TerminalSession({
            nc: deps.nc,
            logger,
            socket,
            nodeId,
            // Fixed at the upgrade: a pod whose container changes gets a new terminal, not a moved one.
            target: caller.target,
            correlationId: request.id,
            options: deps.options.workspace,
            recheck: async () => {
              const principal = await authenticate(deps.nc, credential.value, request.id);
              const located = await locate(deps.nc, ref, callerMeta(principal, request.id, ref));
              if (located.nodeId !== nodeId)
                throw new AppError('not_found', `${describeRef(ref)} moved to another node`);
            },
            onClosed: () => sessions.delete(session),
          });
          sessions.add(session);
          logger.info('terminal opened');
        },
      });
    }
  };
