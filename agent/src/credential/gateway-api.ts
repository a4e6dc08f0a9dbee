import { AppError, BOOTSTRAP_HEADER, ErrorBody, NodeId } from '@agentpod/contracts';
import { z } from 'zod';

/* The two HTTP calls the agent makes before it has a socket: redeeming a join token, and (local join) asking for one. */

export type Fetch = typeof fetch;

/** AgentJoinResult; `gatewayUrl` is the control plane's own idea of its URL (AGENTPOD_PUBLIC_URL). */
const JoinResult = z.object({
  nodeId: NodeId,
  credential: z.string().min(20).max(200),
  gatewayUrl: z.string().optional(),
});
/** `POST /api/v1/admin/local-node` answers like `node add` (AddNodeResult); only the token matters here. */
const LocalNodeResult = z.object({ joinToken: z.string().min(20).max(200) });

const TIMEOUT_MS = 15_000;

async function post<T>(
  fetchFn: Fetch,
  gatewayUrl: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
  schema: z.ZodType<T>,
): Promise<T> {
  const url = new URL(path, gatewayUrl);
  let response: Response;
  try {
    response = await fetchFn(url, {
      method: 'POST',
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    const reason = (error as Error & { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new AppError('unavailable', `the control plane at ${url.origin} is not reachable (${reason})`, {
      cause: error,
    });
  }
  const json: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const error = z.object({ error: ErrorBody }).safeParse(json);
    if (error.success) throw new AppError(error.data.error.code, error.data.error.message);
    const code = response.status === 404 ? 'not_found' : response.status >= 500 ? 'unavailable' : 'invalid';
    throw new AppError(code, `${url.href} answered ${response.status}`);
  }
  const result = schema.safeParse(json);
  if (!result.success) throw new AppError('internal', `${url.href} answered something unexpected`);
  return result.data;
}

/** Trades a one-time join token for the node's long-lived credential. */
export function redeemJoinToken(
  fetchFn: Fetch,
  gatewayUrl: string,
  token: string,
): Promise<z.infer<typeof JoinResult>> {
  return post(fetchFn, gatewayUrl, '/api/v1/agent/join', { token }, {}, JoinResult);
}

/** A fresh join token for the platform node `local`, proven by the bootstrap secret of the control-plane host. */
export async function requestLocalJoinToken(fetchFn: Fetch, gatewayUrl: string, secret: string): Promise<string> {
  const result = await post(
    fetchFn,
    gatewayUrl,
    '/api/v1/admin/local-node',
    undefined,
    { [BOOTSTRAP_HEADER]: secret },
    LocalNodeResult,
  );
  return result.joinToken;
}
