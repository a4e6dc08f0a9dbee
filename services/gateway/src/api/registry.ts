import { Readable } from 'node:stream';
import {
  type Actor,
  type ApiRoute,
  AppError,
  CSRF_HEADER,
  invalidInput,
  MembershipView,
  Principal,
  querySubject,
  type RequestMeta,
  type RouteName,
  routes,
  systemActor,
  type TenantRole,
} from '@agentpod/contracts';
import { request as natsRequest, runWithContext } from '@agentpod/kit';
import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { decideAccess, needsMembership } from '../auth/access.ts';
import { type Credential, clearSessionCookies, csrfHeaderMatches, readCredential } from '../auth/cookies.ts';
import type { RateLimit } from '../options.ts';
import type { ApiDeps, RouteContext, RouteHandler, RouteHandlers } from './context.ts';

const NoInput = z.object({}).strict();

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw invalidInput(result.error, what);
  return result.data;
}

/** Validates path parameters, query and body; nothing reaches NATS for a request that fails here. */
function parseInput(route: ApiRoute, request: FastifyRequest) {
  const params = route.params ? parse(route.params, request.params, 'path parameter') : {};
  const rawQuery = (request.query ?? {}) as Record<string, unknown>;
  const repeated = Object.keys(rawQuery).find((key) => Array.isArray(rawQuery[key]));
  if (repeated !== undefined) {
    throw new AppError('invalid', `invalid query: ${repeated.slice(0, 64)} is given more than once`);
  }
  const query = parse(route.query ?? NoInput, rawQuery, 'query');
  let body: unknown;
  if (route.body) {
    if (request.body === undefined) throw new AppError('invalid', 'this request needs a JSON body');
    body = parse(route.body, request.body, 'body');
  } else if (request.body !== undefined && !(request.body instanceof Readable)) {
    // A Readable is a streamed upload (workspace/file-upload.ts registers the only parser that gives one).
    parse(NoInput, request.body, 'body (this route takes none)');
  }
  return { params: params as Record<string, string>, query, body };
}

const actorOf = (principal: Principal | undefined): Actor => {
  if (!principal) return systemActor('gateway');
  return principal.via === 'token' && principal.tokenId
    ? { kind: 'token', id: principal.tokenId, onBehalfOf: principal.userId }
    : { kind: 'user', id: principal.userId };
};

/** Establishes and checks the caller: credential, CSRF, identity's answer, membership, access rule. */
async function authorise(
  deps: ApiDeps,
  route: ApiRoute,
  request: FastifyRequest,
  reply: FastifyReply,
  tenantId: string | undefined,
): Promise<{ principal?: Principal; credential?: Credential }> {
  if (route.access === 'public') return {};
  const credential = readCredential(request, deps.https);
  if (typeof credential === 'string') throw new AppError('unauthenticated', credential);
  if (credential?.kind === 'cookie' && route.method !== 'GET') {
    if (!csrfHeaderMatches(request, credential.value, CSRF_HEADER)) {
      throw new AppError('forbidden', `missing or wrong ${CSRF_HEADER} header: echo the agentpod_csrf cookie`);
    }
  }
  const base: RequestMeta = { actor: systemActor('gateway'), correlationId: request.id };
  let principal: Principal | undefined;
  if (credential) {
    try {
      const answer = await natsRequest(
        deps.nc,
        querySubject('identity', 'authenticate'),
        { credential: credential.value },
        base,
      );
      principal = Principal.parse(answer);
    } catch (error) {
      if (credential.kind === 'cookie' && error instanceof AppError && error.code === 'unauthenticated') {
        clearSessionCookies(reply, deps.https);
      }
      throw error;
    }
  }
  let membershipRole: TenantRole | undefined;
  if (principal && typeof route.access === 'object' && tenantId && needsMembership(principal, tenantId)) {
    membershipRole = await natsRequest(
      deps.nc,
      querySubject('tenants', 'membership'),
      { tenantId, userId: principal.userId },
      { ...base, principal, actor: actorOf(principal), tenantId },
    ).then(
      (answer) => MembershipView.parse(answer).role,
      (error: unknown) => {
        if (error instanceof AppError && error.code === 'not_found') return undefined;
        throw error;
      },
    );
  }
  const decision = decideAccess({ rule: route.access, method: route.method, principal, tenantId, membershipRole });
  if (!decision.ok) throw decision.error;
  return { principal, credential };
}

function rateLimitConfig(limit: RateLimit | undefined): FastifyContextConfig {
  return limit ? { rateLimit: { max: limit.max, timeWindow: limit.windowMs } } : {};
}

/** Registers every route of the table with its handler: validate, authorise, call, check the response. */
export function registerRoutes(app: FastifyInstance, deps: ApiDeps, handlers: RouteHandlers): void {
  const limits: Partial<Record<RouteName, RateLimit>> = {
    requestMagicLink: deps.options.rateLimits.magicLink,
    redeemMagicLink: deps.options.rateLimits.redeem,
    // Both trade a secret for a credential, like a sign-in link: guessing gets the same per-address limit.
    agentJoin: deps.options.rateLimits.redeem,
    localNode: deps.options.rateLimits.redeem,
  };
  for (const name of Object.keys(routes) as RouteName[]) {
    const route: ApiRoute = routes[name];
    const handle = handlers[name] as RouteHandler;
    app.route({
      method: route.method,
      url: route.path,
      config: rateLimitConfig(limits[name]),
      // Everything the request does runs in its context, so every log line (ours and the kit's) carries its id.
      handler: (request, reply) =>
        runWithContext({ correlationId: request.id }, async () => {
          const input = parseInput(route, request);
          const tenantId = input.params.tenant;
          const { principal, credential } = await authorise(deps, route, request, reply, tenantId);
          const meta: RequestMeta = {
            actor: actorOf(principal),
            correlationId: request.id,
            ...(tenantId ? { tenantId } : {}),
            ...(principal ? { principal } : {}),
          };
          const context: RouteContext = {
            ...input,
            principal,
            credential,
            meta,
            request,
            reply,
            deps,
            call: (subject, data, options) => natsRequest(deps.nc, subject, data, meta, options),
          };
          const result = await runWithContext({ correlationId: request.id, actor: meta.actor, tenantId }, () =>
            handle(context),
          );
          if (result instanceof Readable) return reply.send(result);
          if (route.status === 204) return reply.code(204).send();
          const checked = route.response ? route.response.safeParse(result) : { success: true as const, data: result };
          if (!checked.success) {
            request.log.error({ route: name, issues: checked.error.issues }, 'service reply does not match the API');
            throw new Error(`reply for ${name} does not match its response schema`);
          }
          return reply.code(route.status ?? 200).send(checked.data);
        }),
    });
  }
}
