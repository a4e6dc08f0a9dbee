import type { ApiRoute, Principal, RequestMeta, RouteName, routes } from '@agentpod/contracts';
import type { Logger } from '@agentpod/kit';
import type { NatsConnection } from '@nats-io/nats-core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Credential } from '../auth/cookies.ts';
import type { GatewayOptions } from '../options.ts';

/** What every route handler is given, besides its validated input. */
export type ApiDeps = {
  nc: NatsConnection;
  logger: Logger;
  options: GatewayOptions;
  https: boolean;
  /** Ends each long-lived response (followed event streams) when the gateway shuts down. */
  streams: Set<() => void>;
};

/** A route's validated input part: its schema's output, `undefined` when it has none, `unknown` for any route. */
type Parsed<R, K extends 'params' | 'query' | 'body'> = ApiRoute extends R
  ? unknown
  : R extends { [P in K]: infer S extends z.ZodType }
    ? z.output<S>
    : undefined;

export type CallOptions = { timeoutMs?: number };

export type RouteContext<R extends ApiRoute = ApiRoute> = {
  params: Parsed<R, 'params'>;
  query: Parsed<R, 'query'>;
  body: Parsed<R, 'body'>;
  /** Set on every route whose rule is not `public`. */
  principal: Principal | undefined;
  credential: Credential | undefined;
  /** actor, correlation id (= request id), tenant and principal, as sent with every command and query. */
  meta: RequestMeta;
  request: FastifyRequest;
  reply: FastifyReply;
  deps: ApiDeps;
  /** Sends a command or query with this request's meta; throws the service's AppError. */
  call: <T = unknown>(subject: string, data: unknown, options?: CallOptions) => Promise<T>;
};

/**
 * A handler returns the response body (checked against the route's response schema), nothing for a 204, or a
 * Readable for a streamed response (content type set by the handler).
 */
export type RouteHandler<R extends ApiRoute = ApiRoute> = (context: RouteContext<R>) => Promise<unknown>;

export type RouteHandlers = { [K in RouteName]: RouteHandler<(typeof routes)[K]> };

/** The principal of a route that is not public; the registry has authenticated it before the handler runs. */
export function principalOf(context: { principal: Principal | undefined }): Principal {
  if (!context.principal) throw new Error('handler of a signed-in route ran without a principal');
  return context.principal;
}
