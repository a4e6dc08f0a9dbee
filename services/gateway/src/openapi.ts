import {
  type AccessRule,
  ApiError,
  type ApiRoute,
  BOOTSTRAP_HEADER,
  CSRF_HEADER,
  type RouteName,
  routes,
} from '@agentpod/contracts';
import { AGENTPOD_VERSION } from '@agentpod/kit';
import { z } from 'zod';

/*
 * The OpenAPI 3.1 document, generated from the same route table and zod schemas the gateway validates with
 * (OpenAPI 3.1 schemas are JSON Schema 2020-12, which is what z.toJSONSchema writes).
 */

type JsonSchema = Record<string, unknown>;

const schemaOf = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', reused: 'inline' });
  return rest;
};

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ApiError' } } },
});

function describeAccess(rule: AccessRule): string {
  if (rule === 'public') return 'Anyone; no credentials.';
  if (rule === 'signedIn') return 'Any signed-in caller (session or API token).';
  if (rule === 'platformAdmin') return 'A platform admin (session, or unscoped admin token).';
  return `At least the ${rule.tenant} role in the tenant (a platform admin counts as owner).`;
}

function parameters(route: ApiRoute): unknown[] {
  const list: unknown[] = [];
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (!schema) continue;
    const json = schemaOf(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, property] of Object.entries(json.properties ?? {})) {
      list.push({
        name,
        in: where,
        required: where === 'path' || (json.required ?? []).includes(name),
        schema: property,
      });
    }
  }
  if (route.path === routes.bootstrap.path || route.path === routes.localNode.path) {
    list.push({ name: BOOTSTRAP_HEADER, in: 'header', required: true, schema: { type: 'string' } });
  }
  return list;
}

function operation(name: RouteName, route: ApiRoute) {
  const status = String(route.status ?? 200);
  const success =
    route.status === 204
      ? { description: 'Done; no content' }
      : {
          description: 'Success',
          content: {
            'application/json': { schema: route.response ? schemaOf(route.response, 'output') : {} },
            ...(name === 'events' || name === 'podLogs'
              ? { 'application/x-ndjson': { schema: { type: 'string' } } }
              : {}),
          },
        };
  const errors: Record<string, unknown> = { '400': errorResponse('Invalid input (the details name each problem)') };
  if (route.access !== 'public') {
    errors['401'] = errorResponse('No valid credentials');
    errors['403'] = errorResponse('Signed in, but not allowed (or a read-only token, or no CSRF header)');
  }
  errors['404'] = errorResponse('Not found (also: a tenant you have no access to)');
  if (route.method !== 'GET') errors['409'] = errorResponse('Conflicts with the current state');
  if (name === 'requestMagicLink' || name === 'redeemMagicLink' || name === 'agentJoin')
    errors['429'] = errorResponse('Too many requests');
  errors['500'] = errorResponse('Internal error (carries a correlation id)');
  errors['503'] = errorResponse('A service behind the gateway is unavailable');
  return {
    operationId: name,
    summary: route.summary,
    description: `Access: ${describeAccess(route.access)}${route.method === 'GET' ? '' : ' A viewer-capped token is refused.'}`,
    security: route.access === 'public' ? [] : [{ sessionCookie: [], csrfHeader: [] }, { bearerToken: [] }],
    parameters: parameters(route),
    ...(route.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(route.body, 'input') } } } }
      : {}),
    responses: { [status]: success, ...errors },
  };
}

export function openApiDocument(options: { publicUrl: string; sessionCookie: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const name of Object.keys(routes) as RouteName[]) {
    const route: ApiRoute = routes[name];
    const path = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation(name, route) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'AgentPod API',
      version: AGENTPOD_VERSION,
      description: 'Every error is `{ error: { code, message, details? } }`. The role matrix is in docs/roles.md.',
    },
    servers: [{ url: options.publicUrl }],
    paths,
    components: {
      schemas: { ApiError: schemaOf(ApiError, 'output') },
      securitySchemes: {
        sessionCookie: { type: 'apiKey', in: 'cookie', name: options.sessionCookie },
        csrfHeader: {
          type: 'apiKey',
          in: 'header',
          name: CSRF_HEADER,
          description: 'With a session cookie, every request other than GET echoes the agentpod_csrf cookie here.',
        },
        bearerToken: { type: 'http', scheme: 'bearer', description: 'An API token (apt_…).' },
      },
    },
  };
}
