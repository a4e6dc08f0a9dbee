import { parseArgs } from 'node:util';
import { AppError } from '@agentpod/contracts';
import type { Context } from './context.ts';

/*
 * Commands are data: a path of words (`tenant member add`), positional argument names, options with their help
 * text, and a run function. Dispatch, argument checking and every help page are derived from these specs with
 * node's parseArgs, so a command cannot be missing from the help or take an option its help does not list.
 */

export type OptionSpec = {
  type: 'string' | 'boolean';
  short?: string;
  /** Shown after the flag in help, e.g. `E` in `--email E`. */
  value?: string;
  description: string;
  /** A string option the command cannot run without; parsing fails naming it. */
  required?: boolean;
  /** A string option that may be given several times (`--env A=1 --env B=2`): its value is the list. */
  multiple?: boolean;
};
type Options = Record<string, OptionSpec>;

/**
 * Positional names; a trailing `?` marks an optional one (only at the end), a trailing `...` the rest of the
 * positionals as a list (last; what follows `--` goes there too: `pod exec acme/web -- ls -la`).
 */
type ArgName<S extends string> = S extends `${infer N}...` ? N : S extends `${infer N}?` ? N : S;
export type ArgValues<A extends readonly string[]> = {
  [S in A[number] as ArgName<S>]: S extends `${string}...`
    ? string[]
    : S extends `${string}?`
      ? string | undefined
      : string;
};
export type OptionValues<O extends Options> = {
  [K in keyof O]: O[K]['type'] extends 'boolean'
    ? boolean | undefined
    : O[K]['multiple'] extends true
      ? string[] | undefined
      : O[K]['required'] extends true
        ? string
        : string | undefined;
};

export type CommandSpec<A extends readonly string[], O extends Options> = {
  path: readonly string[];
  summary: string;
  args?: A;
  options?: O;
  /** More help, shown under the usage line. */
  details?: string;
  run(ctx: Context, input: { args: ArgValues<A>; options: OptionValues<O> }): Promise<number>;
};

/** A command with its types erased, as the registry holds it. */
export type Command = {
  path: readonly string[];
  summary: string;
  args: readonly string[];
  options: Options;
  details: string | undefined;
  run(
    ctx: Context,
    input: { args: Record<string, string | string[] | undefined>; options: Record<string, unknown> },
  ): Promise<number>;
};

export function defineCommand<const A extends readonly string[] = [], const O extends Options = Record<never, never>>(
  spec: CommandSpec<A, O>,
): Command {
  return {
    path: spec.path,
    summary: spec.summary,
    args: spec.args ?? [],
    options: spec.options ?? {},
    details: spec.details,
    run: (ctx, input) => spec.run(ctx, input as unknown as { args: ArgValues<A>; options: OptionValues<O> }),
  };
}

/** Options every command takes. */
export const GLOBAL_OPTIONS = {
  json: { type: 'boolean', description: 'machine-readable output on stdout (errors too)' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies Options;

export const usageError = (message: string) => new AppError('invalid', message);

export type Dispatch =
  | { kind: 'command'; command: Command; rest: string[]; json: boolean; help: boolean }
  | { kind: 'group'; prefix: string[]; json: boolean; help: boolean; unknown: string | undefined };

/**
 * Finds the command named by the leading words of argv (the longest path that matches). Only the global
 * booleans may come before the command words, so an option value is never mistaken for a command word.
 */
export function dispatch(commands: readonly Command[], argv: readonly string[]): Dispatch {
  let index = 0;
  let json = false;
  let help = false;
  for (; index < argv.length; index++) {
    const token = argv[index];
    if (token === '--json') json = true;
    else if (token === '--help' || token === '-h') help = true;
    else break;
  }
  const words: string[] = [];
  for (let i = index; i < argv.length && !argv[i]?.startsWith('-'); i++) words.push(argv[i] ?? '');
  let best: Command | undefined;
  for (const command of commands) {
    const matches = command.path.every((word, i) => words[i] === word);
    if (matches && command.path.length > (best?.path.length ?? 0)) best = command;
  }
  const pre = argv.slice(0, index);
  if (best)
    return { kind: 'command', command: best, rest: [...pre, ...argv.slice(index + best.path.length)], json, help };
  // No command: the longest prefix that still names a group (`tenant`, `tenant member`) gets its help.
  let prefix: string[] = [];
  for (let n = words.length; n > 0; n--) {
    const candidate = words.slice(0, n);
    if (commands.some((c) => candidate.every((word, i) => c.path[i] === word))) {
      prefix = candidate;
      break;
    }
  }
  return { kind: 'group', prefix, json, help, unknown: words[prefix.length] };
}

/** Parses what follows the command words; a usage error names the problem and the command. */
export function parseCommandLine(
  command: Command,
  argv: readonly string[],
): {
  args: Record<string, string | string[] | undefined>;
  options: Record<string, unknown>;
  json: boolean;
  help: boolean;
} {
  const name = `agentpod ${command.path.join(' ')}`;
  const options: Options = { ...command.options, ...GLOBAL_OPTIONS };
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: Object.fromEntries(
        Object.entries(options).map(([key, spec]) => [
          key,
          {
            type: spec.type,
            ...(spec.short ? { short: spec.short } : {}),
            ...(spec.multiple ? { multiple: true } : {}),
          },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw usageError(`${describeParseError(error)}; see ${name} --help`);
  }
  const values = parsed.values as Record<string, unknown>;
  const help = values.help === true;
  const json = values.json === true;
  const args: Record<string, string | string[] | undefined> = {};
  if (!help) {
    const required = command.args.filter((a) => !a.endsWith('?') && !a.endsWith('...'));
    const missing = required[parsed.positionals.length];
    if (missing !== undefined) throw usageError(`missing <${missing}>; usage: ${usageLine(command)}`);
    const variadic = command.args.at(-1)?.endsWith('...') ? command.args.at(-1) : undefined;
    const fixed = variadic === undefined ? command.args : command.args.slice(0, -1);
    if (variadic === undefined && parsed.positionals.length > fixed.length) {
      const extra = parsed.positionals[fixed.length];
      throw usageError(`unexpected argument "${extra}"; usage: ${usageLine(command)}`);
    }
    fixed.forEach((spec, i) => {
      args[spec.replace(/\?$/, '')] = parsed.positionals[i];
    });
    if (variadic !== undefined) args[variadic.slice(0, -3)] = parsed.positionals.slice(fixed.length);
    const absent = Object.entries(command.options).find(([key, spec]) => spec.required && values[key] === undefined);
    if (absent) throw usageError(`missing --${absent[0]}; usage: ${usageLine(command)}`);
  }
  const { json: _json, help: _help, ...rest } = values;
  return { args, options: rest, json, help };
}

/** parseArgs' messages, shortened to the part that names the option. */
function describeParseError(error: unknown): string {
  const { code, message } = error as { code?: string; message: string };
  // parseArgs quotes the option as '--name', '-n, --name' or '-n, --name <value>'; keep the long form.
  const quoted = /'(-[^']*)'/.exec(message)?.[1];
  const option = quoted?.replace(/^-\w, /, '').replace(/ <value>$/, '') ?? message;
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return message.includes('argument missing')
        ? `option ${option} needs a value`
        : `option ${option} takes no value`;
    default:
      return message.split('. ')[0] ?? message;
  }
}

export function usageLine(command: Command): string {
  const args = command.args.map((a) =>
    a.endsWith('...') ? `[-- ${a.slice(0, -3)}...]` : a.endsWith('?') ? `[${a.slice(0, -1)}]` : `<${a}>`,
  );
  const required = Object.entries(command.options)
    .filter(([, spec]) => spec.required)
    .map(([key, spec]) => `--${key} ${spec.value ?? 'VALUE'}`);
  return ['agentpod', ...command.path, ...args, ...required, '[options]'].join(' ');
}

function optionLines(options: Options): string {
  const entries = Object.entries(options).map(([key, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : ''}--${key}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}`;
    return [flag, spec.multiple ? `${spec.description} (repeatable)` : spec.description] as const;
  });
  const width = Math.max(...entries.map(([flag]) => flag.length));
  return entries.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}\n`).join('');
}

export function commandHelp(command: Command): string {
  return [
    `Usage: ${usageLine(command)}\n\n`,
    `${command.summary}\n`,
    command.details ? `\n${command.details.trimEnd()}\n` : '',
    `\nOptions:\n${optionLines({ ...command.options, ...GLOBAL_OPTIONS })}`,
  ].join('');
}

/** The list of commands under a prefix (all of them for the top level). */
export function groupHelp(commands: readonly Command[], prefix: readonly string[], footer = ''): string {
  const shown = commands.filter((c) => prefix.every((word, i) => c.path[i] === word));
  const lines = shown.map((c) => [usageLine(c).replace(/ \[options\]$/, ''), c.summary] as const);
  const width = Math.max(...lines.map(([usage]) => usage.length));
  const title = prefix.length === 0 ? 'agentpod — the AgentPod command-line interface' : `agentpod ${prefix.join(' ')}`;
  return [
    `${title}\n\nCommands:\n`,
    ...lines.map(([usage, summary]) => `  ${usage.padEnd(width)}  ${summary}\n`),
    `\nEvery command takes --json and --help.\n`,
    footer,
  ].join('');
}
