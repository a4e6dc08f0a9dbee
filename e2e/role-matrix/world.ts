import { aiService } from '@agentpod/ai';
import { BOOTSTRAP_HEADER, CSRF_HEADER, type TenantRole } from '@agentpod/contracts';
import type { LocalLinkNotice } from '@agentpod/gateway';
import { identityService } from '@agentpod/identity';
import { type FakeChatRequest, type FakeLlm, startFakeLlm } from '@agentpod/kit/testing';
import { monitorService } from '@agentpod/monitor';
import { podsService } from '@agentpod/pods';
import { tenantsService } from '@agentpod/tenants';
import type { NatsConnection } from '@nats-io/transport-node';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { type Stack, startStack } from '../support/stack.ts';

/*
 * The real identity, tenants, pods, monitor and ai services on a private NATS and a fresh database, in local mode (no
 * SMTP), behind a real gateway. Sign-in and invitation links reach the test the way they reach an operator: printed by
 * the gateway (captured here through its `announce` option). The assistant's provider is the kit's fake
 * OpenAI-compatible server (a real HTTP peer): it answers a question with a sentence and a spec generation (asked
 * for JSON) with one plain pod.
 */

export const BOOTSTRAP_SECRET = 'matrix-bootstrap-secret-0123456789';

/** A browser's session: the cookie and the CSRF value it echoes. */
export type Session = { kind: 'session'; token: string; csrf: string; userId: string; email: string };
export type Token = { kind: 'token'; token: string; tokenId: string };
export type Credential = Session | Token;

export type Call = {
  method: string;
  url: string;
  as?: Credential;
  body?: unknown;
  headers?: Record<string, string>;
};

export type World = {
  app: FastifyInstance;
  /** The gateway's NATS connection: for stand-ins of what the matrix does not run (a node's agent). */
  nc: NatsConnection;
  /** The assistant's provider. */
  llm: FakeLlm;
  call(request: Call): Promise<LightMyRequestResponse>;
  /** Calls and fails unless the status is `expected`; returns the JSON body. */
  must<T = Record<string, unknown>>(expected: number, request: Call): Promise<T>;
  signIn(email: string): Promise<Session>;
  /** Redeems a sign-in link (the token in its fragment) into a session. */
  redeem(link: string): Promise<Session>;
  /** What the bootstrap answered: the platform admin's sign-in link and unscoped admin token. */
  bootstrapped: { signInLink: string; token: string; tokenId: string };
  /** The token of the last sign-in link announced for `email`. */
  signInToken(email: string): string;
  invite(as: Credential, tenant: string, email: string, role: TenantRole): Promise<{ id: string; token: string }>;
  stop(): Promise<void>;
};

const tokenOf = (link: string): string => {
  const token = new URL(link).hash.match(/token=([^&]+)/)?.[1];
  if (!token) throw new Error(`no token in ${link}`);
  return token;
};

/** One pod any tenant may create, as a model answers "generate pod specs". */
const GENERATED = { pods: [{ podId: 'generated', spec: { image: 'nginx:1.27' }, notes: 'from the matrix' }] };
const answer = (request: FakeChatRequest) =>
  request.response_format ? JSON.stringify(GENERATED) : 'Hello from the matrix provider.';

export async function startWorld(): Promise<World> {
  const llm = await startFakeLlm({ reply: answer });
  let stack: Stack;
  try {
    stack = await startStack({
      services: [identityService, tenantsService, podsService, monitorService, aiService],
      gateway: {
        bootstrapSecret: BOOTSTRAP_SECRET,
        // The matrix signs in dozens of times from one address; the limits themselves are tested elsewhere.
        rateLimits: { magicLink: { max: 10_000, windowMs: 60_000 }, redeem: { max: 10_000, windowMs: 60_000 } },
      },
      // Automatic diagnoses (of the alert the matrix fires) are the ai service's own tests'.
      env: { AGENTPOD_AI_BASE_URL: llm.url, AGENTPOD_AI_DIAGNOSE_FAILING: 'false' },
    });
  } catch (error) {
    await llm.close();
    throw error;
  }
  const stopAll = async () => {
    await stack.stop();
    await llm.close();
  };
  try {
    const { app, notices } = stack;
    const call = (request: Call) => {
      const headers: Record<string, string> = { ...request.headers };
      if (request.as?.kind === 'session') {
        headers.cookie = `agentpod_session=${request.as.token}`;
        headers[CSRF_HEADER] = request.as.csrf;
      } else if (request.as?.kind === 'token') {
        headers.authorization = `Bearer ${request.as.token}`;
      }
      return app.inject({
        method: request.method as 'GET',
        url: request.url,
        headers,
        ...(request.body === undefined ? {} : { payload: request.body as object }),
      });
    };
    const must = async <T>(expected: number, request: Call): Promise<T> => {
      const response = await call(request);
      if (response.statusCode !== expected) {
        throw new Error(`${request.method} ${request.url}: ${response.statusCode} ${response.body}`);
      }
      return (response.body === '' ? {} : response.json()) as T;
    };
    const lastLink = (kind: LocalLinkNotice['kind'], email: string) => {
      const notice = notices.findLast((n) => n.kind === kind && n.email === email);
      if (!notice) throw new Error(`no ${kind} link was announced for ${email}`);
      return notice.link;
    };
    const redeem = async (linkToken: string): Promise<Session> => {
      const response = await call({ method: 'POST', url: '/api/v1/auth/redeem', body: { token: linkToken } });
      if (response.statusCode !== 200) throw new Error(`redeem: ${response.statusCode} ${response.body}`);
      const cookie = (name: string) => response.cookies.find((c) => c.name === name)?.value ?? '';
      const { user } = response.json() as { user: { id: string; email: string } };
      return {
        kind: 'session',
        token: cookie('agentpod_session'),
        csrf: cookie('agentpod_csrf'),
        userId: user.id,
        email: user.email,
      };
    };
    // The first platform admin, as `agentpod admin bootstrap` creates it.
    const bootstrapped = await must<World['bootstrapped']>(201, {
      method: 'POST',
      url: '/api/v1/admin/bootstrap',
      headers: { [BOOTSTRAP_HEADER]: BOOTSTRAP_SECRET },
      body: { email: 'root@example.test' },
    });
    return {
      app,
      nc: stack.nc,
      llm,
      bootstrapped,
      redeem: (link) => redeem(tokenOf(link)),
      call,
      must,
      async signIn(email) {
        await must(202, { method: 'POST', url: '/api/v1/auth/magic-link', body: { email } });
        return redeem(tokenOf(lastLink('sign-in', email)));
      },
      signInToken: (email) => tokenOf(lastLink('sign-in', email)),
      async invite(as, tenant, email, role) {
        const view = await must<{ id: string }>(201, {
          method: 'POST',
          url: `/api/v1/tenants/${tenant}/members`,
          as,
          body: { email, role },
        });
        return { id: view.id, token: tokenOf(lastLink('invitation', email)) };
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
