import { randomUUID } from 'node:crypto';
import type { Logger } from '@agentpod/kit';
import type { NatsConnection } from '@nats-io/nats-core';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { platformHealth } from './health.ts';

export type GatewayDeps = {
  nc: NatsConnection;
  logger: Logger;
};

/** `/healthz`: 200 when the gateway and every service answer their health query as ok, 503 otherwise. */
const healthRoutes =
  (deps: GatewayDeps): FastifyPluginAsync =>
  async (app) => {
    app.get('/healthz', async (_request, reply) => {
      const health = await platformHealth(deps.nc);
      return reply.code(health.status === 'ok' ? 200 : 503).send(health);
    });
  };

/** Builds the gateway: one encapsulated plugin per area. Tests drive it with `inject()`. */
export function buildApp(deps: GatewayDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: 1024 * 1024,
    requestIdHeader: false,
    genReqId: () => randomUUID(),
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.register(healthRoutes(deps));
  return app as unknown as FastifyInstance;
}
