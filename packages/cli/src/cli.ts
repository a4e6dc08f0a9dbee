import { type Command, commandHelp, type Dispatch, dispatch, groupHelp, parseCommandLine, usageError } from './args.ts';
import { bootstrapCommand, replayCommand } from './commands/admin.ts';
import { aiCommands } from './commands/ai.ts';
import { alertRuleCommands } from './commands/alert-rule.ts';
import { alertsCommands } from './commands/alerts.ts';
import { auditCommand } from './commands/audit.ts';
import { loginCommand, logoutCommand, whoamiCommand } from './commands/auth.ts';
import { doctorCommand } from './commands/doctor.ts';
import { eventsCommand } from './commands/events.ts';
import { podExecCommand } from './commands/exec.ts';
import { filesCommands } from './commands/files.ts';
import { healthCommand } from './commands/health.ts';
import { memberCommands } from './commands/member.ts';
import { migrateCommands } from './commands/migrate.ts';
import { nodeCommands } from './commands/node.ts';
import { nodeShellCommand } from './commands/node-shell.ts';
import { podCommands } from './commands/pod.ts';
import { reconcileCommand } from './commands/reconcile.ts';
import { statusCommand } from './commands/status.ts';
import { tenantCommands } from './commands/tenant.ts';
import { tokenCommands } from './commands/token.ts';
import { topCommand } from './commands/top.ts';
import { webhookCommands } from './commands/webhook.ts';
import { createContext, type Io } from './context.ts';
import type { CliEnv } from './env.ts';
import { EXIT, Output } from './output.ts';

/** Every command, in the order the help lists them. */
export const COMMANDS: readonly Command[] = [
  loginCommand,
  logoutCommand,
  whoamiCommand,
  statusCommand,
  healthCommand,
  doctorCommand,
  ...tenantCommands,
  ...memberCommands,
  ...tokenCommands,
  ...podCommands,
  podExecCommand,
  ...filesCommands,
  ...nodeCommands,
  nodeShellCommand,
  ...migrateCommands,
  ...alertsCommands,
  ...alertRuleCommands,
  topCommand,
  ...webhookCommands,
  ...aiCommands,
  reconcileCommand,
  auditCommand,
  eventsCommand,
  bootstrapCommand,
  replayCommand,
];

const FOOTER = `
Environment:
  AGENTPOD_URL         the gateway (default: the saved one, else http://127.0.0.1:8080)
  AGENTPOD_TOKEN       an API token (default: the one agentpod login saved)
  AGENTPOD_STATE_DIR   where the gateway keeps the bootstrap secret (default ~/.agentpod)
  XDG_CONFIG_HOME      the saved credential is $XDG_CONFIG_HOME/agentpod/credentials.json (default ~/.config)

Exit codes: 0 ok, 1 failure, 2 usage or invalid argument, 3 not signed in or refused credential,
4 not found or not allowed, 130 interrupted (Ctrl-C).
`;

/** A group of commands named without a verb (`agentpod tenant`), an unknown command, or nothing at all. */
function groupAnswer(found: Extract<Dispatch, { kind: 'group' }>, io: Io): number {
  const footer = found.prefix.length === 0 ? FOOTER : '';
  if (found.unknown !== undefined) {
    const named = [...found.prefix, found.unknown].join(' ');
    throw usageError(`unknown command "${named}"; run ${['agentpod', ...found.prefix].join(' ')} --help`);
  }
  // Asked for help: stdout and success. Left without a verb: the same list as a usage error, on stderr.
  if (found.help) {
    io.stdout.write(groupHelp(COMMANDS, found.prefix, footer));
    return EXIT.ok;
  }
  io.stderr.write(groupHelp(COMMANDS, found.prefix, footer));
  return EXIT.usage;
}

/**
 * Runs one command line and returns the exit code. Nothing here exits the process or reads its globals, so the
 * whole CLI can be driven in-process as well as from main.ts.
 */
export async function run(argv: readonly string[], io: Io, env: CliEnv | (() => CliEnv)): Promise<number> {
  const found = dispatch(COMMANDS, argv);
  const out = new Output(io.stdout, io.stderr, found.json || argv.includes('--json'));
  try {
    if (found.kind === 'group') return groupAnswer(found, io);
    const parsed = parseCommandLine(found.command, found.rest);
    if (parsed.help || found.help) {
      io.stdout.write(commandHelp(found.command));
      return EXIT.ok;
    }
    const context = createContext(typeof env === 'function' ? env() : env, io, out);
    return await found.command.run(context, { args: parsed.args, options: parsed.options });
  } catch (error) {
    // Ctrl-C: the user knows; no error line, the shell's conventional code.
    if (io.signal.aborted) return EXIT.interrupted;
    return out.fail(error);
  }
}
