import type { AddNodeResult } from '@agentpod/contracts';
import { defineCommand, usageError } from '../args.ts';
import { clean, EXIT, formatTime } from '../output.ts';
import { confirm } from '../prompt.ts';
import { buildRequest } from '../request.ts';
import { formatNode, formatNodeList } from './pod-format.ts';

/** The install command, set apart so it is easy to find and copy; the token inside it is shown this once. */
function joinInstructions(result: AddNodeResult, headline: string): string {
  return [
    `${headline}\n\n`,
    `Run this on the server (as root, with Docker installed) to install and start the agent:\n\n`,
    `    ${clean(result.installCommand)}\n\n`,
    `The join token in it works once, until ${formatTime(result.expiresAt)}, and is shown only now.\n`,
    `A new one: agentpod node join-token ${clean(result.node.name)}\n`,
  ].join('');
}

const owner = (result: AddNodeResult) =>
  result.node.tenantId ? `owned by tenant ${clean(result.node.tenantId)}` : 'in the platform pool';

export const nodeAddCommand = defineCommand({
  path: ['node', 'add'],
  summary: 'Register a server as a node; prints the command that installs the agent there',
  args: ['name'],
  options: {
    tenant: { type: 'string', value: 'T', description: "a node of this tenant only (its owner's own server)" },
  },
  details:
    'The name is a slug (3-32 lower-case letters, digits or inner hyphens). Without --tenant the node joins the\n' +
    'platform pool (platform admins); with --tenant only that tenant’s pods run on it (the tenant’s owner).',
  async run(ctx, { args, options }) {
    const client = await ctx.client();
    const labels = { name: '<name>', tenant: '--tenant' };
    const result =
      options.tenant === undefined
        ? await client.call('addNode', { body: { name: args.name } }, { labels })
        : await client.call(
            'addTenantNode',
            { params: { tenant: options.tenant }, body: { name: args.name } },
            { labels },
          );
    ctx.out.result(result, () =>
      joinInstructions(result, `Added node ${clean(result.node.name)} (${result.node.id}), ${owner(result)}.`),
    );
    return EXIT.ok;
  },
});

export const nodeListCommand = defineCommand({
  path: ['node', 'list'],
  summary: 'Nodes you can see (every node for a platform admin)',
  async run(ctx) {
    const { nodes } = await (await ctx.client()).call('listNodes');
    ctx.out.result({ nodes }, () => (nodes.length === 0 ? 'no nodes\n' : formatNodeList(nodes, new Date())));
    return EXIT.ok;
  },
});

export const nodeStatusCommand = defineCommand({
  path: ['node', 'status'],
  summary: 'One node: status, last seen, facts, pods',
  args: ['node'],
  details: '<node> is a node name or id.',
  async run(ctx, { args }) {
    const node = await (await ctx.client()).call(
      'getNode',
      { params: { node: args.node } },
      { labels: { node: '<node>' } },
    );
    ctx.out.result(node, () => formatNode(node, new Date()));
    return EXIT.ok;
  },
});

export const nodeRemoveCommand = defineCommand({
  path: ['node', 'remove'],
  summary: 'Remove a node: its credential is revoked and its agent cut off at once',
  args: ['node'],
  options: {
    yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation (needed when not on a terminal)' },
  },
  details: 'Pods placed on the node stay recorded (pending: node removed); their containers keep running there.',
  async run(ctx, { args, options }) {
    const input = { params: { node: args.node } };
    const labels = { node: '<node>' };
    buildRequest('removeNode', input, 'http://localhost', labels);
    if (!options.yes) {
      const confirmed = await confirm(ctx.io, `Remove node ${args.node}? Type ${args.node} to confirm: `, args.node);
      if (!confirmed) throw usageError(`not removing node ${args.node}: confirm on a terminal, or pass --yes`);
    }
    const node = await (await ctx.client()).call('removeNode', input, { labels });
    ctx.out.result(node, () => `removed node ${clean(node.name)} (${node.id}); its credential no longer works\n`);
    return EXIT.ok;
  },
});

export const nodeJoinTokenCommand = defineCommand({
  path: ['node', 'join-token'],
  summary: 'A new one-time join token for a node, with the command that uses it',
  args: ['node'],
  async run(ctx, { args }) {
    const result = await (await ctx.client()).call(
      'issueNodeJoinToken',
      { params: { node: args.node } },
      { labels: { node: '<node>' } },
    );
    ctx.out.result(result, () =>
      joinInstructions(result, `New join token for node ${clean(result.node.name)} (${result.node.id}).`),
    );
    return EXIT.ok;
  },
});

export const nodeCommands = [
  nodeAddCommand,
  nodeListCommand,
  nodeStatusCommand,
  nodeRemoveCommand,
  nodeJoinTokenCommand,
];
