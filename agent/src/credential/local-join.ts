import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '@agentpod/contracts';
import { type Logger, retry } from '@agentpod/kit';
import { type Fetch, redeemJoinToken, requestLocalJoinToken } from './gateway-api.ts';
import { type StoredCredential, saveCredential } from './store.ts';

export type LocalJoinDeps = {
  fetch: Fetch;
  gatewayUrl: string;
  /** The gateway's state directory, holding `bootstrap-secret`. */
  bootstrapDir: string;
  /** The agent's state directory, where the credential goes. */
  stateDir: string;
  logger: Logger;
  signal?: AbortSignal;
};

async function readBootstrapSecret(dir: string): Promise<string> {
  const file = join(dir, 'bootstrap-secret');
  const secret = await readFile(file, 'utf8').then(
    (text) => text.trim(),
    (error: NodeJS.ErrnoException) => {
      throw new AppError('unavailable', `no bootstrap secret at ${file} yet (${error.code ?? error.message})`);
    },
  );
  if (!secret) throw new AppError('unavailable', `the bootstrap secret at ${file} is empty`);
  return secret;
}

/**
 * Joins this machine as the control plane's own node (`npm start`): reads the bootstrap secret the gateway
 * wrote on this host, asks `POST /api/v1/admin/local-node` for a join token, redeems it and saves the credential.
 * The gateway usually starts alongside, so every failure waits and tries again (the secret is read afresh each
 * time: the gateway writes a new one at every start), saying what it waits for whenever that changes.
 */
export async function localJoin(deps: LocalJoinDeps): Promise<StoredCredential> {
  const { logger, gatewayUrl } = deps;
  let said = '';
  return retry(
    async () => {
      const secret = await readBootstrapSecret(deps.bootstrapDir);
      const token = await requestLocalJoinToken(deps.fetch, gatewayUrl, secret);
      const { nodeId, credential } = await redeemJoinToken(deps.fetch, gatewayUrl, token);
      const stored = { gatewayUrl, nodeId, credential };
      const file = await saveCredential(deps.stateDir, stored);
      logger.info({ nodeId, file }, `joined the local control plane as node ${nodeId}`);
      return stored;
    },
    {
      initialMs: 500,
      maxMs: 5_000,
      jitter: 0.2,
      ...(deps.signal ? { signal: deps.signal } : {}),
      onRetry: (error) => {
        const message = `local join: waiting for the gateway at ${gatewayUrl}: ${(error as Error).message}`;
        if (message !== said) logger.warn(message);
        else logger.debug(message);
        said = message;
      },
    },
  );
}
