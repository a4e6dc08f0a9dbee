import type { TenantView } from '@agentpod/contracts';
import { defineCommand, usageError } from '../args.ts';
import { EXIT, formatFields, formatTable, formatTime } from '../output.ts';
import { confirm } from '../prompt.ts';
import { buildRequest } from '../request.ts';

const name = { type: 'string', value: 'N', description: 'display name', required: true } as const;

const tenantFields = (tenant: TenantView) =>
  formatFields([
    ['id', tenant.id],
    ['name', tenant.name],
    ['status', tenant.status],
    ['members', tenant.memberCount],
    ['your role', tenant.role ?? '-'],
    ['created', formatTime(tenant.createdAt)],
  ]);

export const tenantCreateCommand = defineCommand({
  path: ['tenant', 'create'],
  summary: 'Create a tenant; you become its owner (platform admin)',
  args: ['id'],
  options: { name },
  details: 'The id is a slug: 3-32 lower-case letters, digits or inner hyphens, starting with a letter.',
  async run(ctx, { args, options }) {
    const client = await ctx.client();
    const tenant = await client.call(
      'createTenant',
      { body: { id: args.id, name: options.name } },
      { labels: { id: '<id>', name: '--name' } },
    );
    ctx.out.result(tenant, () => `created tenant ${tenant.id} (${tenant.name})\n`);
    return EXIT.ok;
  },
});

export const tenantListCommand = defineCommand({
  path: ['tenant', 'list'],
  summary: 'Tenants you can see (every tenant for a platform admin)',
  async run(ctx) {
    const { tenants } = await (await ctx.client()).call('listTenants');
    ctx.out.result({ tenants }, () =>
      tenants.length === 0
        ? 'no tenants\n'
        : formatTable(
            ['id', 'name', 'status', 'members', 'role', 'created'],
            tenants.map((t) => [t.id, t.name, t.status, t.memberCount, t.role ?? '-', formatTime(t.createdAt)]),
          ),
    );
    return EXIT.ok;
  },
});

export const tenantStatusCommand = defineCommand({
  path: ['tenant', 'status'],
  summary: 'One tenant',
  args: ['id'],
  async run(ctx, { args }) {
    const tenant = await (await ctx.client()).call(
      'getTenant',
      { params: { tenant: args.id } },
      { labels: { tenant: '<id>' } },
    );
    ctx.out.result(tenant, () => tenantFields(tenant));
    return EXIT.ok;
  },
});

export const tenantRenameCommand = defineCommand({
  path: ['tenant', 'rename'],
  summary: "Change a tenant's display name (tenant admin)",
  args: ['id'],
  options: { name },
  async run(ctx, { args, options }) {
    const tenant = await (await ctx.client()).call(
      'renameTenant',
      { params: { tenant: args.id }, body: { name: options.name } },
      { labels: { tenant: '<id>', name: '--name' } },
    );
    ctx.out.result(tenant, () => `renamed tenant ${tenant.id} to ${tenant.name}\n`);
    return EXIT.ok;
  },
});

export const tenantDeleteCommand = defineCommand({
  path: ['tenant', 'delete'],
  summary: 'Delete a tenant (owner); refused while it has pods unless --force',
  args: ['id'],
  options: {
    force: { type: 'boolean', description: "delete the tenant's pods first" },
    yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation (needed when not on a terminal)' },
  },
  async run(ctx, { args, options }) {
    const input = { params: { tenant: args.id }, query: { force: options.force ? 'true' : 'false' } };
    const labels = { tenant: '<id>' };
    // Validate before asking, so nobody confirms the deletion of a tenant id that cannot exist.
    buildRequest('deleteTenant', input, 'http://localhost', labels);
    if (!options.yes) {
      const what = options.force ? `tenant ${args.id} and all its pods` : `tenant ${args.id}`;
      const confirmed = await confirm(ctx.io, `Delete ${what}? Type the tenant id to confirm: `, args.id);
      if (!confirmed) throw usageError(`not deleting tenant ${args.id}: confirm on a terminal, or pass --yes`);
    }
    await (await ctx.client()).call('deleteTenant', input, { labels });
    ctx.out.result({ tenant: args.id, deleted: true }, () => `deleted tenant ${args.id}\n`);
    return EXIT.ok;
  },
});

export const tenantCommands = [
  tenantCreateCommand,
  tenantListCommand,
  tenantStatusCommand,
  tenantRenameCommand,
  tenantDeleteCommand,
];
