import { AppError, BOOTSTRAP_HEADER, commandSubject, NodeCredentialResults, NodeResults } from '@agentpod/contracts';
import { sameSecret } from '../auth/cookies.ts';
import type { RouteHandlers } from './context.ts';

/** The platform node that `npm start` runs an agent on. */
export const LOCAL_NODE_NAME = 'local';

export const agentHandlers: Pick<RouteHandlers, 'agentJoin' | 'localNode'> = {
  /**
   * `agentpod-agent join <url> <token>`: the one-time join token for the node's credential, and the URL the agent
   * dials from now on (AGENTPOD_PUBLIC_URL). Public and rate-limited; identity refuses a used or expired token.
   */
  async agentJoin({ body, call, deps }) {
    const joined = NodeCredentialResults.redeemNodeJoinToken.parse(
      await call(commandSubject('identity', 'redeemNodeJoinToken'), { token: body.token }),
    );
    return { ...joined, gatewayUrl: deps.options.publicUrl };
  },

  /**
   * The local node of `npm start`: added on first use, reused after, with a fresh join token each time. Proof of
   * host access is the bootstrap secret (as for `admin bootstrap`); the pods service acts for the platform
   * (system actor `gateway`, the meta of every public route).
   */
  async localNode({ call, request, deps }) {
    const secret = deps.options.bootstrapSecret;
    const sent = request.headers[BOOTSTRAP_HEADER];
    if (secret === undefined) throw new AppError('unavailable', 'this gateway was started without a bootstrap secret');
    if (typeof sent !== 'string' || !sameSecret(sent, secret)) {
      throw new AppError(
        'unauthenticated',
        `missing or wrong ${BOOTSTRAP_HEADER} header: read it from the control-plane host's state directory`,
      );
    }
    return NodeResults.addNode.parse(
      await call(commandSubject('pods', 'addNode'), { name: LOCAL_NODE_NAME, reuse: true }),
    );
  },
};
