import { AppError } from '@agentpod/contracts';
import { defineCommand, usageError } from '../args.ts';
import type { ApiClient } from '../client.ts';
import { EXIT, formatTable, formatTime } from '../output.ts';

const labels = { tenant: '<tenant>', userId: '<user>', email: '<email>', role: '<role>' };

/** A member named by user id or by email; an email is looked up in the tenant's member list. */
export async function resolveMember(client: ApiClient, tenant: string, who: string): Promise<string> {
  if (who.startsWith('usr_')) return who;
  if (!who.includes('@')) throw usageError(`"${who}" is neither a user id (usr_…) nor an email address`);
  const { members } = await client.call('listMembers', { params: { tenant } }, { labels });
  const email = who.trim().toLowerCase();
  const member = members.find((m) => m.email.toLowerCase() === email);
  if (!member) throw new AppError('not_found', `${who} is not a member of tenant ${tenant}`);
  return member.userId;
}

export const memberAddCommand = defineCommand({
  path: ['tenant', 'member', 'add'],
  summary: 'Invite someone by email with a role (no higher than your own)',
  args: ['tenant', 'email'],
  options: { role: { type: 'string', value: 'R', description: 'viewer, member, admin or owner', required: true } },
  details:
    'The invitee gets a link by email (in local mode the gateway prints it on its console) that joins the tenant\n' +
    'once they sign in with that address.',
  async run(ctx, { args, options }) {
    const invitation = await (await ctx.client()).call(
      'inviteMember',
      { params: { tenant: args.tenant }, body: { email: args.email, role: options.role } },
      { labels: { ...labels, role: '--role' } },
    );
    ctx.out.result(
      invitation,
      () =>
        `invited ${invitation.email} to ${args.tenant} as ${invitation.role} ` +
        `(invitation ${invitation.id}, expires ${formatTime(invitation.expiresAt)})\n`,
    );
    return EXIT.ok;
  },
});

export const memberListCommand = defineCommand({
  path: ['tenant', 'member', 'list'],
  summary: 'Members of a tenant and their roles',
  args: ['tenant'],
  async run(ctx, { args }) {
    const { members } = await (await ctx.client()).call('listMembers', { params: { tenant: args.tenant } }, { labels });
    ctx.out.result({ members }, () =>
      members.length === 0
        ? 'no members\n'
        : formatTable(
            ['user', 'email', 'role', 'joined'],
            members.map((m) => [m.userId, m.email, m.role, formatTime(m.joinedAt)]),
          ),
    );
    return EXIT.ok;
  },
});

export const memberRoleCommand = defineCommand({
  path: ['tenant', 'member', 'role'],
  summary: "Change a member's role (never above your own; the last owner stays owner)",
  args: ['tenant', 'user', 'role'],
  details: '<user> is a user id (usr_…) or the member’s email address.',
  async run(ctx, { args }) {
    const client = await ctx.client();
    const userId = await resolveMember(client, args.tenant, args.user);
    const member = await client.call(
      'changeMemberRole',
      { params: { tenant: args.tenant, userId }, body: { role: args.role } },
      { labels },
    );
    ctx.out.result(member, () => `${member.email} is now ${member.role} in ${args.tenant}\n`);
    return EXIT.ok;
  },
});

export const memberRemoveCommand = defineCommand({
  path: ['tenant', 'member', 'remove'],
  summary: 'Remove a member, or yourself (leave); the last owner cannot leave',
  args: ['tenant', 'user'],
  details: '<user> is a user id (usr_…) or the member’s email address.',
  async run(ctx, { args }) {
    const client = await ctx.client();
    const userId = await resolveMember(client, args.tenant, args.user);
    await client.call('removeMember', { params: { tenant: args.tenant, userId } }, { labels });
    ctx.out.result({ tenant: args.tenant, userId, removed: true }, () => `removed ${args.user} from ${args.tenant}\n`);
    return EXIT.ok;
  },
});

export const memberCommands = [memberAddCommand, memberListCommand, memberRoleCommand, memberRemoveCommand];
