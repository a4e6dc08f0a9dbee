import { defineCommand } from '../args.ts';
import { EXIT, formatTable, formatTime } from '../output.ts';

export const auditCommand = defineCommand({
  path: ['audit'],
  summary: 'Changes, newest first (tenant admins: their tenants; platform admins: everything)',
  options: {
    tenant: { type: 'string', value: 'T', description: 'only this tenant' },
    actor: { type: 'string', value: 'A', description: 'only this actor (user or token id)' },
    type: { type: 'string', value: 'X', description: 'only this event type, e.g. MemberAdded' },
    limit: { type: 'string', value: 'N', description: 'at most N entries (1-500, default 50)' },
    before: { type: 'string', value: 'CURSOR', description: 'continue after the last page (printed at its end)' },
  },
  async run(ctx, { options }) {
    const page = await (await ctx.client()).call(
      'audit',
      {
        query: {
          tenant: options.tenant,
          actor: options.actor,
          type: options.type,
          limit: options.limit,
          before: options.before,
        },
      },
      { labels: { tenant: '--tenant', actor: '--actor', type: '--type', limit: '--limit', before: '--before' } },
    );
    ctx.out.result(page, () => {
      if (page.entries.length === 0) return 'no entries\n';
      const table = formatTable(
        ['time', 'type', 'tenant', 'actor', 'aggregate'],
        page.entries.map((e) => [
          formatTime(e.occurredAt),
          e.type,
          e.tenantId ?? '-',
          `${e.actor.kind}:${e.actor.id}`,
          e.aggregateId,
        ]),
      );
      return page.next ? `${table}\n(more: repeat with --before ${page.next})\n` : table;
    });
    return EXIT.ok;
  },
});
