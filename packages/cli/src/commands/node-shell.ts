import { defineCommand, usageError } from '../args.ts';
import { runTerminal } from './terminal-client.ts';

/*
 * `node shell <node>`: a login shell on the node itself (the agent's pty), for platform admins and the owners of
 * the tenant a node belongs to. Always a terminal with the keyboard forwarded, like `ssh`.
 */

export const nodeShellCommand = defineCommand({
  path: ['node', 'shell'],
  summary: 'A shell on a node itself (platform admins, owners of the node’s tenant)',
  args: ['node', 'command...'],
  details:
    '<node> is a node name or id. After --, a command to run instead of the login shell (still on a terminal).\n' +
    'The shell runs as the agent’s user, in its home directory; exit codes as for pod exec.',
  async run(ctx, { args }) {
    if (args.node.length > 64) throw usageError(`invalid <node> ${JSON.stringify(args.node)}: a node name or id`);
    return runTerminal(ctx, {
      path: `/api/v1/nodes/${encodeURIComponent(args.node)}/terminal`,
      command: args.command.length > 0 ? args.command : undefined,
      tty: true,
      interactive: true,
    });
  },
});
