import { AppError } from '@agentpod/contracts';
import { type Fetch, redeemJoinToken } from '../credential/gateway-api.ts';
import { readCredential, saveCredential } from '../credential/store.ts';

export type JoinOptions = { url: string; token: string; stateDir: string; fetch: Fetch; out: (text: string) => void };

function gatewayUrlOf(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new AppError(
      'invalid',
      `"${text}" is not a URL: give the control plane's URL, e.g. https://agentpod.example.com`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new AppError(
      'invalid',
      `the control plane's URL must start with https:// (or http:// on localhost), got ${text}`,
    );
  return url.href;
}

/**
 * `agentpod-agent join <url> <token>`: trades the one-time token (printed by `agentpod node add`) for the node's
 * credential and saves it. Joining again (a node removed and added back) replaces the old credential.
 */
export async function joinCommand(options: JoinOptions): Promise<void> {
  const gatewayUrl = gatewayUrlOf(options.url);
  const token = options.token.trim();
  if (token.length < 20)
    throw new AppError('invalid', 'that is not a join token: copy it whole from `agentpod node add`');
  const previous = await readCredential(options.stateDir).catch(() => null);
  const joined = await redeemJoinToken(options.fetch, gatewayUrl, token);
  const { nodeId, credential } = joined;
  // The URL that just worked is the one to dial. The control plane's own idea of its URL (AGENTPOD_PUBLIC_URL)
  // may be a default like 127.0.0.1 that means nothing from this node; it is only mentioned when it differs.
  const file = await saveCredential(options.stateDir, { gatewayUrl, nodeId, credential });
  const replaced =
    previous && previous.nodeId !== nodeId ? ` (it replaces the credential of node ${previous.nodeId})` : '';
  const announced = differentOrigin(joined.gatewayUrl, gatewayUrl)
    ? `The control plane calls itself ${joined.gatewayUrl}; this node dials ${gatewayUrl}, the URL given here.\n`
    : '';
  options.out(
    `Joined ${gatewayUrl} as node ${nodeId}.\n${announced}` +
      `The credential is saved in ${file}, readable by this user only${replaced}.\n` +
      'Now start the agent and keep it running (e.g. as a systemd service):\n\n' +
      '  agentpod-agent run\n\n' +
      'A running agent picks up a new credential by itself.\n',
  );
}

function differentOrigin(announced: string | undefined, used: string): boolean {
  if (!announced) return false;
  try {
    return new URL(announced).origin !== new URL(used).origin;
  } catch {
    return false;
  }
}
