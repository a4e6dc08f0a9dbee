import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError, BOOTSTRAP_HEADER } from '@agentpod/contracts';
import { defineCommand, usageError } from '../args.ts';
import { saveCredential } from '../credentials.ts';
import { EXIT, formatFields, formatTable, yesNo } from '../output.ts';

/** Reads the secret the gateway wrote on this host; only someone with access to the host can bootstrap. */
async function readBootstrapSecret(stateDir: string): Promise<string> {
  const file = join(stateDir, 'bootstrap-secret');
  let secret: string;
  try {
    secret = (await readFile(file, 'utf8')).trim();
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new AppError(
      'unauthenticated',
      `cannot read the bootstrap secret at ${file} (${reason}): run this on the control-plane host after the ` +
        'gateway has started, or set AGENTPOD_STATE_DIR to its state directory',
      { cause: error },
    );
  }
  if (secret === '') throw new AppError('unauthenticated', `the bootstrap secret at ${file} is empty`);
  return secret;
}

export const bootstrapCommand = defineCommand({
  path: ['admin', 'bootstrap'],
  summary: 'Create the first platform admin (on the control-plane host); prints a sign-in link and an API token',
  options: {
    email: { type: 'string', value: 'E', description: "the platform admin's email address", required: true },
    save: { type: 'boolean', description: "also save the token as this CLI's credential" },
  },
  details:
    'Reads the secret the gateway wrote to $AGENTPOD_STATE_DIR/bootstrap-secret (default ~/.agentpod). Works only while\n' +
    'no platform admin exists. The token is shown once and stored nowhere unless --save.',
  async run(ctx, { options }) {
    const secret = await readBootstrapSecret(ctx.env.stateDir);
    const { url } = await ctx.target();
    const client = await ctx.client({ url, token: undefined });
    const result = await client.call(
      'bootstrap',
      { body: { email: options.email } },
      { headers: { [BOOTSTRAP_HEADER]: secret }, labels: { email: '--email' } },
    );
    // Saved without tokenId: the token was shown to the user, so logout must not revoke it behind their back.
    if (options.save) await saveCredential(ctx.env.credentialsFile, { url, token: result.token });
    ctx.out.result({ ...result, savedTo: options.save ? ctx.env.credentialsFile : null }, () => {
      const fields = formatFields([
        ['platform admin', `${result.user.email} (${result.user.id})`],
        ['sign-in link', result.signInLink],
        ['API token', result.token],
        ['token id', result.tokenId],
      ]);
      const note = options.save
        ? `The token is saved in ${ctx.env.credentialsFile}.\n`
        : 'The token is shown only now: keep it, or run agentpod login --token with it.\n';
      return `${fields}\n${note}`;
    });
    return EXIT.ok;
  },
});

export const REPLAY_SERVICES = ['identity', 'tenants', 'pods', 'reconciler', 'monitor', 'ai'] as const;

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
}

export const replayCommand = defineCommand({
  path: ['admin', 'replay'],
  summary: "Rebuild a service's read models from the event log and compare them with the live ones",
  args: ['service?'],
  options: {
    all: { type: 'boolean', description: 'every service' },
    'no-swap': { type: 'boolean', description: 'compare only; keep the live read models' },
  },
  details:
    `<service> is one of ${REPLAY_SERVICES.join(', ')}. Needs a platform admin.\n` +
    'Exits 1 when a rebuilt read model differs from the live one.',
  async run(ctx, { args, options }) {
    if ((args.service === undefined) === (options.all !== true)) {
      throw usageError('name one service or give --all; usage: agentpod admin replay <service>|--all');
    }
    const client = await ctx.client();
    const { reports } = await client.call(
      'replay',
      { body: { service: args.service ?? 'all', swap: options['no-swap'] !== true } },
      // Rebuilding a large read model takes a while; the default request timeout would cut it short.
      { labels: { service: '<service>' }, timeoutMs: 30 * 60_000 },
    );
    ctx.out.result({ reports }, () =>
      formatTable(
        ['service', 'events', 'duration', 'identical', 'swapped'],
        reports.map((r) => [r.service, r.events, formatDuration(r.durationMs), yesNo(r.identical), yesNo(r.swapped)]),
      ),
    );
    return reports.some((r) => r.identical === false) ? EXIT.failure : EXIT.ok;
  },
});
