import { defineCommand, usageError } from '../args.ts';
import { podRefArg } from './pod-flags.ts';
import { runTerminal } from './terminal-client.ts';

/*
 * `pod exec <tenant>/<pod> [-i] [-t] -- CMD…`: a command in the pod's container, through the gateway and the
 * node's agent (`docker exec`), like `docker exec`. The remote command's exit code is the CLI's.
 */

export const podExecCommand = defineCommand({
  path: ['pod', 'exec'],
  summary: "Run a command in a pod's container (its exit code is agentpod's)",
  args: ['tenant/pod', 'command...'],
  options: {
    interactive: { type: 'boolean', short: 'i', description: 'forward standard input (its end as end of input)' },
    tty: {
      type: 'boolean',
      short: 't',
      description: 'a terminal: raw keyboard, window size follows yours; stdout and stderr merge',
    },
  },
  details:
    'Without a command: the container’s login shell (bash, else sh). Put the command after --, so its own\n' +
    'options are not read as agentpod’s: agentpod pod exec acme/web -it -- bash -l\n' +
    'Without -t, stdout and stderr stay apart, as the command wrote them.\n' +
    'Exit codes: the command’s; 128+N when signal N killed it; 130 when interrupted here; for a refusal, the\n' +
    'usual ones (3 not signed in, 4 no such pod or not yours, 1 its node is unreachable).',
  async run(ctx, { args, options }) {
    const key = podRefArg(args['tenant/pod']);
    const command = args.command.length > 0 ? args.command : undefined;
    if (command?.some((part) => part.length > 4096)) throw usageError('a command argument is too long');
    return runTerminal(ctx, {
      path: `/api/v1/tenants/${encodeURIComponent(key.tenantId)}/pods/${encodeURIComponent(key.podId)}/terminal`,
      command,
      tty: options.tty === true,
      interactive: options.interactive === true,
    });
  },
});
