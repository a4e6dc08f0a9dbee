import type { ApiTokenView } from '@agentpod/contracts';
import { defineCommand } from '../args.ts';
import { EXIT, formatFields, formatTable, formatTime } from '../output.ts';

/** revoked, expired or active, as of `now`. */
export function tokenState(token: ApiTokenView, now: Date): string {
  if (token.revoked) return 'revoked';
  if (token.expiresAt !== null && Date.parse(token.expiresAt) <= now.getTime()) return 'expired';
  return 'active';
}

export const tokenCreateCommand = defineCommand({
  path: ['token', 'create'],
  summary: 'Create an API token; the secret is printed once',
  options: {
    name: { type: 'string', value: 'N', description: 'what the token is for', required: true },
    tenant: { type: 'string', value: 'T', description: 'confine the token to one tenant' },
    role: { type: 'string', value: 'R', description: 'cap: viewer, member (default) or admin' },
    expires: {
      type: 'string',
      value: '30d',
      description: 'lifetime: minutes, hours or days (m, h, d); none by default',
    },
  },
  details: 'A token never has more rights than you; a viewer token can change nothing.',
  async run(ctx, { options }) {
    const { token, view } = await (await ctx.client()).call(
      'createToken',
      { body: { name: options.name, tenant: options.tenant, role: options.role, expiresIn: options.expires } },
      { labels: { name: '--name', tenant: '--tenant', role: '--role', expiresIn: '--expires' } },
    );
    ctx.out.result({ token, view }, () => {
      const fields = formatFields([
        ['id', view.id],
        ['name', view.name],
        ['role', view.role],
        ['tenant', view.tenantId ?? 'any'],
        ['expires', view.expiresAt ? formatTime(view.expiresAt) : 'never'],
        ['token', token],
      ]);
      return `${fields}\nThe token is shown only now: store it somewhere safe.\n`;
    });
    return EXIT.ok;
  },
});

export const tokenListCommand = defineCommand({
  path: ['token', 'list'],
  summary: 'Your API tokens (every token for a platform admin)',
  async run(ctx) {
    const { tokens } = await (await ctx.client()).call('listTokens');
    const now = new Date();
    ctx.out.result({ tokens }, () =>
      tokens.length === 0
        ? 'no tokens\n'
        : formatTable(
            ['id', 'name', 'role', 'tenant', 'state', 'expires', 'created'],
            tokens.map((t) => [
              t.id,
              t.name,
              t.role,
              t.tenantId ?? 'any',
              tokenState(t, now),
              t.expiresAt ? formatTime(t.expiresAt) : 'never',
              formatTime(t.createdAt),
            ]),
          ),
    );
    return EXIT.ok;
  },
});

export const tokenRevokeCommand = defineCommand({
  path: ['token', 'revoke'],
  summary: 'Revoke an API token',
  args: ['id'],
  async run(ctx, { args }) {
    await (await ctx.client()).call('revokeToken', { params: { tokenId: args.id } }, { labels: { tokenId: '<id>' } });
    ctx.out.result({ tokenId: args.id, revoked: true }, () => `revoked token ${args.id}\n`);
    return EXIT.ok;
  },
});

export const tokenCommands = [tokenCreateCommand, tokenListCommand, tokenRevokeCommand];
