import { AppError, NODE_CREDENTIAL_PREFIX } from '@agentpod/contracts';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { AgentSocket } from './connection.ts';
import type { AgentRelay, AuthenticatedUpgrade } from './relay.ts';

/** The one path agents dial. */
export const AGENT_SOCKET_PATH = '/agent';

const BEARER = /^Bearer ([!-~]{1,300})$/;

/**
 * `GET /agent`: the agents' WebSocket. Everything is checked before the upgrade, so a refused agent gets a plain
 * HTTP error in the API's JSON shape and never an open socket: it must be an upgrade, carry no Origin (agents send
 * none; a browser always does), and carry `Authorization: Bearer apn_…` that identity accepts as a node
 * credential. The socket then belongs to the relay.
 */
export const agentSocketRoutes =
  (relay: AgentRelay): FastifyPluginAsync =>
  async (app) => {
    const upgrades = new WeakMap<FastifyRequest, AuthenticatedUpgrade>();
    app.route({
      method: 'GET',
      url: AGENT_SOCKET_PATH,
      websocket: true,
      onRequest: async (request, reply) => {
        if (!request.ws) throw new AppError('invalid', `${AGENT_SOCKET_PATH} is the agents' WebSocket; upgrade to it`);
        // A refused upgrade's connection is closed after the answer (the WebSocket plugin destroys it): say so, so
        // that a client does not send its next request on it.
        reply.header('connection', 'close');
        if (request.headers.origin !== undefined) {
          throw new AppError('forbidden', 'browsers may not open the agent socket');
        }
        const credential = BEARER.exec(request.headers.authorization ?? '')?.[1];
        if (credential === undefined || !credential.startsWith(NODE_CREDENTIAL_PREFIX)) {
          throw new AppError(
            'unauthenticated',
            `send the node credential as Authorization: Bearer ${NODE_CREDENTIAL_PREFIX}…`,
          );
        }
        upgrades.set(request, await relay.authenticate(credential, request.id));
      },
      handler: (socket, request) => {
        const upgrade = upgrades.get(request);
        // Unreachable: the hook above either refused the request or recorded its credential.
        if (!upgrade) throw new Error('agent socket upgraded without an authenticated credential');
        relay.attach(socket as AgentSocket, upgrade);
      },
    });
  };
