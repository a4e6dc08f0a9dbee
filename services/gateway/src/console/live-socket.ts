import { AppError, Principal, querySubject, type RequestMeta, systemActor } from '@agentpod/contracts';
import { request as natsRequest } from '@agentpod/kit';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ApiDeps } from '../api/context.ts';
import { clearSessionCookies, readCredential } from '../auth/cookies.ts';
import { LIVE_SOCKET_PATH } from './files.ts';
import { sameOrigin } from './live/effects.ts';
import { LiveHub } from './live/hub.ts';
import { LiveSession, type LiveSocket } from './live/session.ts';

/*
 * `GET /console/live`: the console's WebSocket of live changes. Everything is checked before the upgrade, so a
 * refused page gets a plain HTTP error in the API's JSON shape and never an open socket: it must be an upgrade,
 * its Origin must be the console's own (403 otherwise: a cross-site page cannot ride on the session cookie), and
 * it must carry a session cookie identity accepts (401). API tokens are for the CLI and are refused here.
 */

export const liveSocketRoute =
  (deps: ApiDeps): FastifyPluginAsync =>
  async (app) => {
    const hub = new LiveHub(deps.nc, deps.logger);
    app.addHook('onClose', async () => hub.close());
    const principals = new WeakMap<FastifyRequest, { principal: Principal; credential: string }>();
    app.route({
      method: 'GET',
      url: LIVE_SOCKET_PATH,
      websocket: true,
      onRequest: async (request, reply) => {
        if (!request.ws) throw new AppError('invalid', `${LIVE_SOCKET_PATH} is the console's WebSocket; upgrade to it`);
        // A refused upgrade's connection is closed after the answer: say so, so no next request is sent on it.
        reply.header('connection', 'close');
        const requestOrigin = `${request.protocol}://${request.host}`;
        if (!sameOrigin(request.headers.origin, deps.options.publicUrl, requestOrigin)) {
          throw new AppError('forbidden', 'the live socket only serves the console’s own pages (wrong Origin)');
        }
        const credential = readCredential(request, deps.https);
        if (typeof credential === 'string') throw new AppError('unauthenticated', credential);
        if (credential?.kind !== 'cookie') {
          throw new AppError('unauthenticated', 'sign in to the console; the live socket takes the session cookie');
        }
        const meta: RequestMeta = { actor: systemActor('gateway'), correlationId: request.id };
        try {
          const answer = await natsRequest(
            deps.nc,
            querySubject('identity', 'authenticate'),
            { credential: credential.value },
            meta,
          );
          principals.set(request, { principal: Principal.parse(answer), credential: credential.value });
        } catch (error) {
          if (error instanceof AppError && error.code === 'unauthenticated') clearSessionCookies(reply, deps.https);
          throw error;
        }
      },
      handler: (socket, request) => {
        const caller = principals.get(request);
        // Unreachable: the hook above either refused the request or recorded its caller.
        if (!caller) throw new Error('live socket upgraded without an authenticated caller');
        const session = new LiveSession({
          nc: deps.nc,
          logger: deps.logger.child({ requestId: request.id }),
          hub,
          socket: socket as unknown as LiveSocket,
          principal: caller.principal,
          credential: caller.credential,
          recheckMs: Math.max(deps.options.followRecheckMs, 1_000),
          withPods: new URL(request.url, 'http://console').searchParams.get('pods') === '1',
        });
        session.start().catch((error: unknown) => {
          request.log.warn({ err: error }, 'could not start a live console session');
          session.close(1011, 'the control plane could not be asked; reconnect');
        });
      },
    });
  };
