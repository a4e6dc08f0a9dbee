import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError, ErrorCode } from '@agentpod/contracts';
import { formatDuration } from './commands/admin.ts';
import { linkToken } from './commands/auth.ts';
import { eventsFromText, formatEvent } from './commands/events.ts';
import { tokenState } from './commands/token.ts';
import { parseEnv } from './env.ts';
import { clean, EXIT, exitCodeFor, formatFields, formatTable, formatTime, Output } from './output.ts';

const sink = () => {
  let text = '';
  return {
    write: (chunk: string) => (text += chunk),
    get text() {
      return text;
    },
  };
};

describe('formatting', () => {
  test('tables align columns two spaces apart with no trailing blanks', () => {
    const table = formatTable(
      ['id', 'name', 'role'],
      [
        ['acme', 'Acme Corp', 'owner'],
        ['b2', 'Bé', undefined],
      ],
    );
    assert.equal(table, 'ID    NAME       ROLE\nacme  Acme Corp  owner\nb2    Bé         -\n');
  });

  test('control and bidi characters from the server are shown escaped, never sent raw', () => {
    assert.equal(clean('a\u001b[31mred\nb\u202Ec'), 'a\\u{1b}[31mred\\u{a}b\\u{202e}c');
    assert.equal(clean(null), '-');
    assert.match(formatTable(['x'], [['\u0007']]), /\\u\{7\}/);
  });

  test('fields align labels and leave out undefined values', () => {
    assert.equal(
      formatFields([
        ['id', 'a'],
        ['platform admin', 'yes'],
        ['gone', undefined],
      ]),
      'id              a\nplatform admin  yes\n',
    );
  });

  test('times lose their milliseconds; durations read naturally', () => {
    assert.equal(formatTime('2025-01-02T03:04:05.678Z'), '2025-01-02T03:04:05Z');
    assert.equal(formatTime(null), '-');
    assert.equal(formatDuration(850), '850ms');
    assert.equal(formatDuration(1234), '1.23s');
    assert.equal(formatDuration(65_000), '65.0s');
  });

  test('events print as one line each, whatever shape the answer had', () => {
    const event = {
      id: '0190',
      type: 'TenantCreated',
      aggregateId: 'acme',
      tenantId: 'acme',
      actor: { kind: 'user', id: 'usr_1' },
      occurredAt: '2025-01-02T03:04:05.000Z',
      version: 1,
      data: { name: 'Acme' },
    };
    assert.equal(
      formatEvent(event),
      '2025-01-02T03:04:05Z  TenantCreated           acme  v1  tenant=acme  user:usr_1  {"name":"Acme"}',
    );
    assert.deepEqual(eventsFromText(`${JSON.stringify(event)}\n\n${JSON.stringify(event)}\n`), [event, event]);
    assert.deepEqual(eventsFromText(JSON.stringify({ events: [event] })), [event]);
    assert.deepEqual(eventsFromText(JSON.stringify([event])), [event]);
    assert.deepEqual(eventsFromText(''), []);
  });

  test('a token is revoked, expired or active', () => {
    const view = {
      id: 'tok_aaaaaaaaaaaaaaaaaaaa',
      name: 'ci',
      role: 'member' as const,
      tenantId: null,
      userId: 'usr_aaaaaaaaaaaaaaaaaaaa',
      createdAt: '2025-01-01T00:00:00Z',
      expiresAt: '2025-02-01T00:00:00Z',
      revoked: false,
    };
    assert.equal(tokenState(view, new Date('2025-01-15T00:00:00Z')), 'active');
    assert.equal(tokenState(view, new Date('2025-03-01T00:00:00Z')), 'expired');
    assert.equal(tokenState({ ...view, revoked: true }, new Date('2025-01-15T00:00:00Z')), 'revoked');
  });

  test('a pasted sign-in link gives its token; a bare token is taken as is', () => {
    assert.equal(linkToken('https://ap.example/auth/callback#token=apl_abc-123_x'), 'apl_abc-123_x');
    assert.equal(linkToken('  apl_abc  '), 'apl_abc');
  });
});

describe('exit codes and errors', () => {
  test('each error class has its exit code', () => {
    assert.equal(exitCodeFor('invalid'), EXIT.usage);
    assert.equal(exitCodeFor('unauthenticated'), EXIT.auth);
    assert.equal(exitCodeFor('forbidden'), EXIT.denied);
    assert.equal(exitCodeFor('not_found'), EXIT.denied);
    for (const code of ['conflict', 'rate_limited', 'unavailable', 'timeout', 'internal'] as const) {
      assert.equal(exitCodeFor(code), EXIT.failure);
    }
    for (const code of ErrorCode.options) assert.ok(exitCodeFor(code) > 0);
  });

  test('a failure is one stderr line, or the JSON error object on stdout with --json', () => {
    const [stdout, stderr] = [sink(), sink()];
    assert.equal(new Output(stdout, stderr, false).fail(new AppError('not_found', 'no tenant acme')), 4);
    assert.equal(stdout.text, '');
    assert.equal(stderr.text, 'agentpod: no tenant acme\n');

    const [jsonOut, jsonErr] = [sink(), sink()];
    assert.equal(new Output(jsonOut, jsonErr, true).fail(new AppError('conflict', 'taken', { details: { a: 1 } })), 1);
    assert.equal(jsonErr.text, '');
    assert.deepEqual(JSON.parse(jsonOut.text), { error: { code: 'conflict', message: 'taken', details: { a: 1 } } });
  });

  test('an unexpected error is internal and still one line', () => {
    const [stdout, stderr] = [sink(), sink()];
    assert.equal(new Output(stdout, stderr, false).fail(new Error('boom\nsecond line')), 1);
    assert.equal(stderr.text, 'agentpod: boom\\u{a}second line\n');
  });
});

describe('environment', () => {
  test('defaults under HOME, overrides from the variables, empty means unset', () => {
    const env = parseEnv({ AGENTPOD_URL: '', AGENTPOD_TOKEN: undefined }, '/home/u', 'box');
    assert.deepEqual(env, {
      url: undefined,
      token: undefined,
      stateDir: '/home/u/.agentpod',
      credentialsFile: '/home/u/.config/agentpod/credentials.json',
      hostname: 'box',
    });
    const set = parseEnv(
      {
        AGENTPOD_URL: 'https://ap.example',
        AGENTPOD_TOKEN: 'apt_x',
        AGENTPOD_STATE_DIR: '/srv/ap',
        XDG_CONFIG_HOME: '/cfg',
      },
      '/home/u',
      'box',
    );
    assert.equal(set.url, 'https://ap.example');
    assert.equal(set.stateDir, '/srv/ap');
    assert.equal(set.credentialsFile, '/cfg/agentpod/credentials.json');
  });

  test('a bad AGENTPOD_URL is named', () => {
    assert.throws(
      () => parseEnv({ AGENTPOD_URL: 'ftp://x' }, '/home/u', 'box'),
      (error: unknown) => error instanceof AppError && error.code === 'invalid' && /^AGENTPOD_URL /.test(error.message),
    );
  });
});
