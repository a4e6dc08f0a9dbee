import { randomUUID } from 'node:crypto';
import { AppError, MAX_AGENT_FRAME_BYTES } from '@agentpod/contracts';
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, LogController } from 'fastify';
import { agentSocketRoutes } from './agent-socket/plugin.ts';
import { AgentRelay } from './agent-socket/relay.ts';
import { adminHandlers } from './api/admin-routes.ts';
import { agentHandlers } from './api/agent-routes.ts';
import { aiHandlers } from './api/ai-routes.ts';
import { alertHandlers } from './api/alert-routes.ts';
import { authHandlers } from './api/auth-routes.ts';
import type { ApiDeps } from './api/context.ts';
import { metricsHandlers } from './api/metrics-routes.ts';
import { migrateHandlers } from './api/migrate-routes.ts';
import { nodeHandlers } from './api/nodes-routes.ts';
import { podHandlers } from './api/pods-routes.ts';
import { reconcilerHandlers } from './api/reconciler-routes.ts';
import { registerRoutes } from './api/registry.ts';
import { rolloutHandlers } from './api/rollout-routes.ts';
import { systemHandlers } from './api/system-routes.ts';
import { tenantHandlers } from './api/tenant-routes.ts';
import { tokenHandlers } from './api/token-routes.ts';
import { sessionCookieName } from './auth/cookies.ts';
import { consoleRoutes } from './console/plugin.ts';
import { installErrorHandling, sendError, toHttpError } from './errors.ts';
import { eventHandlers } from './events/route.ts';
import { platformHealth } from './health.ts';
import { openApiDocument } from './openapi.ts';
import { type GatewayDeps, isHttps, resolveOptions } from './options.ts';
import { pages } from './pages.ts';
import { workspaceFileHandlers } from './workspace/file-routes.ts';
import { registerUploadParser } from './workspace/file-upload.ts';
import { terminalSocketRoutes } from './workspace/terminal-socket.ts';

export type { GatewayDeps } from './options.ts';

/** `/healthz`: 200 when the gateway and every service answer their health query as ok, 503 otherwise. */
const healthRoutes =
  (deps: GatewayDeps): FastifyPluginAsync =>
  async (app) => {
    app.get('/healthz', async (_request, reply) => {
      const health = await platformHealth(deps.nc);
      return reply.code(health.status === 'ok' ? 200 : 503).send(health);
    });
  };

/** The REST API under /api/v1, generated from the contracts' route table, and its OpenAPI document. */
const apiRoutes =
  (deps: ApiDeps): FastifyPluginAsync =>
  async (app) => {
    registerUploadParser(app);
    registerRoutes(app, deps, {
      ...authHandlers,
      ...adminHandlers,
      ...tenantHandlers,
      ...tokenHandlers,
      ...eventHandlers,
      ...nodeHandlers,
      ...podHandlers,
      ...migrateHandlers,
      ...agentHandlers,
      ...rolloutHandlers,
      ...reconcilerHandlers,
      ...systemHandlers,
      ...alertHandlers,
      ...metricsHandlers,
      ...workspaceFileHandlers,
      ...aiHandlers,
    });
    const document = openApiDocument({
      publicUrl: deps.options.publicUrl,
      sessionCookie: sessionCookieName(deps.https),
    });
    app.get('/api/v1/openapi.json', async () => document);
    // Before the server stops accepting: a followed stream never ends by itself and would hold close() forever.
    app.addHook('preClose', async () => {
      for (const stop of deps.streams) stop();
    });
  };

/** Builds the gateway: one encapsulated plugin per area. Tests drive it with `inject()`. */
export function buildApp(deps: GatewayDeps): FastifyInstance {
  const options = resolveOptions(deps.options);
  const https = isHttps(options);
  const fastify = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: options.bodyLimit,
    // The client's own request id is never trusted: ids are ours, so a log search by id finds only our lines.
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    genReqId: () => randomUUID(),
    trustProxy: options.trustedProxies.length > 0 ? options.trustedProxies : false,
    // Long enough that a 10 kB path segment is rejected by validation with a clear message, not by the router.
    routerOptions: { maxParamLength: 16 * 1024 },
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      return sendError(reply, toHttpError(error, request.id, options.bodyLimit));
    },
  });
  // pino's Logger and fastify's base logger type differ only in typing; the instance is the same.
  const app = fastify as unknown as FastifyInstance;
  // Only JSON bodies: a text/plain body is what a cross-site HTML form can send without a CORS preflight.
  app.removeContentTypeParser('text/plain');
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  installErrorHandling(app, options.bodyLimit);
  app.register(fastifyHelmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        connectSrc: ["'self'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
      },
    },
    strictTransportSecurity: https ? { maxAge: 31_536_000 } : false,
    referrerPolicy: { policy: 'no-referrer' },
    frameguard: { action: 'deny' },
  });
  app.register(fastifyCookie);
  app.register(fastifyRateLimit, {
    global: false,
    // request.ip: the TCP peer, or X-Forwarded-For's client when the peer is a trusted proxy.
    keyGenerator: (request) => request.ip,
    errorResponseBuilder: (_request, context) =>
      new AppError('rate_limited', `too many requests from your address; try again in ${context.after}`, {
        details: { retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1000)) },
      }),
  });
  // One WebSocket server for every socket route; frames up to twice the agent limit reach the relay (which drops
  // and counts them), bigger ones close the socket (1009) before they are buffered.
  const agents = new AgentRelay({
    nc: deps.nc,
    logger: deps.logger,
    options: options.agentSocket,
    clock: options.clock,
  });
  app.register(fastifyWebsocket, {
    options: { maxPayload: 2 * MAX_AGENT_FRAME_BYTES },
    // Agents get `bye` and their last events are stored before the remaining sockets close.
    preClose: async function closeSockets(this: FastifyInstance) {
      await agents.close();
      for (const client of this.websocketServer.clients) client.close(1001, 'the gateway is shutting down');
      this.websocketServer.close();
    },
  });
  app.register(agentSocketRoutes(agents));
  app.register(healthRoutes(deps));
  app.register(apiRoutes({ nc: deps.nc, logger: deps.logger, options, https, streams: new Set() }));
  app.register(pages);
  app.register(terminalSocketRoutes({ nc: deps.nc, logger: deps.logger, options, https, streams: new Set() }));
  app.register(consoleRoutes({ nc: deps.nc, logger: deps.logger, options, https, streams: new Set() }));
  return app;
}
