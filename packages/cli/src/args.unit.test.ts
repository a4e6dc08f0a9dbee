import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '@agentpod/contracts';
import { type Command, commandHelp, defineCommand, dispatch, groupHelp, parseCommandLine, usageLine } from './args.ts';
import { COMMANDS } from './cli.ts';

const noop = async () => 0;
const create = defineCommand({
  path: ['tenant', 'create'],
  summary: 'create',
  args: ['id'],
  options: { name: { type: 'string', value: 'N', description: 'name', required: true } },
  run: noop,
});
const add = defineCommand({
  path: ['tenant', 'member', 'add'],
  summary: 'add',
  args: ['tenant', 'email'],
  options: {
    role: { type: 'string', value: 'R', description: 'role' },
    yes: { type: 'boolean', short: 'y', description: 'y' },
  },
  run: noop,
});
const replay = defineCommand({ path: ['admin', 'replay'], summary: 'replay', args: ['service?'], run: noop });
const commands: Command[] = [create, add, replay];

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'invalid');
    return error.message;
  }
  assert.fail('expected a usage error');
}

describe('dispatch', () => {
  test('picks the longest matching command path and leaves the rest to parse', () => {
    const found = dispatch(commands, ['tenant', 'member', 'add', 'acme', 'a@b.c', '--role', 'admin']);
    assert.equal(found.kind, 'command');
    assert.equal(found.kind === 'command' && found.command, add);
    assert.deepEqual(found.kind === 'command' && found.rest, ['acme', 'a@b.c', '--role', 'admin']);
  });

  test('--json and --help may come before the command words', () => {
    const found = dispatch(commands, ['--json', 'tenant', 'create', 'acme']);
    assert.equal(found.kind === 'command' && found.command, create);
    assert.equal(found.json, true);
    assert.deepEqual(found.kind === 'command' && found.rest, ['--json', 'acme']);
  });

  test('an option value is never read as a command word', () => {
    const found = dispatch(commands, ['--name', 'tenant', 'create']);
    assert.equal(found.kind, 'group');
  });

  test('a group name alone, or an unknown verb, names the group', () => {
    assert.deepEqual(dispatch(commands, ['tenant']), {
      kind: 'group',
      prefix: ['tenant'],
      json: false,
      help: false,
      unknown: undefined,
    });
    const unknown = dispatch(commands, ['tenant', 'member', 'invite', 'x']);
    assert.equal(unknown.kind === 'group' && unknown.unknown, 'invite');
    assert.deepEqual(unknown.kind === 'group' && unknown.prefix, ['tenant', 'member']);
    assert.deepEqual(dispatch(commands, ['nope']).kind === 'group' && dispatch(commands, ['nope']), {
      kind: 'group',
      prefix: [],
      json: false,
      help: false,
      unknown: 'nope',
    });
  });
});

describe('parseCommandLine', () => {
  test('positionals by name, options by key, globals split off', () => {
    const parsed = parseCommandLine(add, ['acme', '--role', 'admin', 'a@b.c', '-y', '--json']);
    assert.deepEqual(parsed, {
      args: { tenant: 'acme', email: 'a@b.c' },
      options: { role: 'admin', yes: true },
      json: true,
      help: false,
    });
  });

  test('an optional positional may be left out', () => {
    assert.deepEqual(parseCommandLine(replay, []).args, { service: undefined });
    assert.deepEqual(parseCommandLine(replay, ['pods']).args, { service: 'pods' });
  });

  test('missing and extra positionals are usage errors naming the argument', () => {
    assert.equal(
      usage(() => parseCommandLine(add, ['acme'])),
      'missing <email>; usage: agentpod tenant member add <tenant> <email> [options]',
    );
    assert.match(
      usage(() => parseCommandLine(create, ['a', 'b', '--name', 'x'])),
      /^unexpected argument "b"/,
    );
  });

  test('a required option must be there', () => {
    assert.equal(
      usage(() => parseCommandLine(create, ['acme'])),
      'missing --name; usage: agentpod tenant create <id> --name N [options]',
    );
  });

  test('unknown options and missing or unwanted values are explained in one line', () => {
    assert.equal(
      usage(() => parseCommandLine(create, ['acme', '--bogus'])),
      'unknown option --bogus; see agentpod tenant create --help',
    );
    assert.equal(
      usage(() => parseCommandLine(create, ['acme', '--name'])),
      'option --name needs a value; see agentpod tenant create --help',
    );
    assert.match(
      usage(() => parseCommandLine(add, ['a', 'b', '--yes=1'])),
      /^option --yes takes no value/,
    );
  });

  test('a repeatable option collects every value, in order; help says it repeats', () => {
    const env = defineCommand({
      path: ['pod', 'create'],
      summary: 'create',
      options: { env: { type: 'string', value: 'K=V', multiple: true, description: 'a variable' } },
      run: noop,
    });
    assert.deepEqual(parseCommandLine(env, ['--env', 'A=1', '--env', 'B=2=3']).options, { env: ['A=1', 'B=2=3'] });
    assert.deepEqual(parseCommandLine(env, []).options, {});
    assert.match(commandHelp(env), /--env K=V +a variable \(repeatable\)/);
  });

  test('--help skips the argument checks', () => {
    assert.equal(parseCommandLine(create, ['--help']).help, true);
    assert.equal(parseCommandLine(create, ['-h']).help, true);
  });
});

describe('help', () => {
  test('usage lines show positionals, optional ones in brackets, and required options', () => {
    assert.equal(usageLine(create), 'agentpod tenant create <id> --name N [options]');
    assert.equal(usageLine(replay), 'agentpod admin replay [service] [options]');
  });

  test('command help lists every option, the global ones included', () => {
    const help = commandHelp(add);
    for (const flag of ['--role R', '-y, --yes', '--json', '-h, --help']) assert.ok(help.includes(flag), flag);
  });

  test('every command of the CLI has a unique path and appears in the top-level help', () => {
    const paths = COMMANDS.map((c) => c.path.join(' '));
    assert.equal(new Set(paths).size, paths.length);
    const help = groupHelp(COMMANDS, []);
    for (const path of paths) assert.ok(help.includes(`agentpod ${path}`), path);
    for (const required of [
      'admin bootstrap',
      'login',
      'logout',
      'whoami',
      'status',
      'tenant create',
      'tenant list',
      'tenant status',
      'tenant rename',
      'tenant delete',
      'tenant member add',
      'tenant member list',
      'tenant member role',
      'tenant member remove',
      'token create',
      'token list',
      'token revoke',
      'audit',
      'events',
      'admin replay',
    ]) {
      assert.ok(paths.includes(required), required);
    }
  });
});
