import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '@agentpod/contracts';
import { EXIT, exitCodeFor } from '../output.ts';
import {
  limitsFrom,
  parseCmdFlag,
  parseCpusFlag,
  parseEnvFlags,
  parseHealth,
  parseMemoryFlag,
  parseNodeFlag,
  parsePidsFlag,
  parsePortFlag,
  parsePortFlags,
  parseSecretFlags,
  parseTimeoutFlag,
  parseVolumeFlag,
  podRefArg,
  splitCommand,
} from './pod-flags.ts';

/** The usage error `fn` throws: code invalid (exit 2), one line. */
function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(exitCodeFor(error.code), EXIT.usage);
    assert.ok(!error.message.includes('\n'), error.message);
    return error.message;
  }
  assert.fail('expected a usage error');
}

describe('pod flags', () => {
  test('--port: a container port, udp, public', () => {
    assert.deepEqual(parsePortFlag('8080'), { containerPort: 8080, protocol: 'tcp', public: false });
    assert.deepEqual(parsePortFlag('53/udp'), { containerPort: 53, protocol: 'udp', public: false });
    assert.deepEqual(parsePortFlag('8080:public'), { containerPort: 8080, protocol: 'tcp', public: true });
    assert.deepEqual(parsePortFlag('443/tcp:public'), { containerPort: 443, protocol: 'tcp', public: true });
    assert.equal(
      usage(() => parsePortFlag('70000')),
      'invalid --port 70000: must be a port number 1-65535',
    );
    assert.equal(
      usage(() => parsePortFlag('0')),
      'invalid --port 0: must be a port number 1-65535',
    );
    for (const bad of ['http', '8080/sctp', '8080:private', '80 80', '-1', '8080:8080', '']) {
      assert.match(
        usage(() => parsePortFlag(bad)),
        /must be PORT\[\/tcp\|\/udp\]\[:public\]/,
        bad,
      );
    }
    assert.equal(
      usage(() => parsePortFlags(['80', '80/tcp'])),
      'invalid --port: 80/tcp is given twice',
    );
    assert.equal(parsePortFlags(['53', '53/udp']).length, 2);
  });

  test('--env: KEY=VALUE, the value may hold "=" or be empty; bad keys and repeats are refused', () => {
    assert.deepEqual(parseEnvFlags(['A=1', 'URL=postgres://x?a=b=c', 'EMPTY=', '_X=a b']), {
      A: '1',
      URL: 'postgres://x?a=b=c',
      EMPTY: '',
      _X: 'a b',
    });
    assert.match(
      usage(() => parseEnvFlags(['1BAD=x'])),
      /^invalid --env 1BAD=x: must be a letter or "_"/,
    );
    assert.match(
      usage(() => parseEnvFlags(['A-B=x'])),
      /^invalid --env A-B=x: /,
    );
    assert.equal(
      usage(() => parseEnvFlags(['NOVALUE'])),
      'invalid --env NOVALUE: must be KEY=VALUE',
    );
    assert.equal(usage(() => parseEnvFlags(['=x'])).startsWith('invalid --env =x: '), true);
    assert.equal(
      usage(() => parseEnvFlags(['A=1', 'A=2'])),
      'invalid --env: A is given twice',
    );
    assert.match(
      usage(() => parseEnvFlags(['A=x\u0000y'])),
      /must not contain NUL/,
    );
  });

  test('--secret: K=V, or K alone (read from stdin later); a bad one never echoes its value', () => {
    assert.deepEqual(parseSecretFlags(['API_KEY=s3cr=t', 'TOKEN']), {
      secrets: { API_KEY: 's3cr=t' },
      missing: ['TOKEN'],
    });
    const message = usage(() => parseSecretFlags(['9KEY=hunter2']));
    assert.match(message, /^invalid --secret 9KEY: /);
    assert.ok(!message.includes('hunter2'));
    const nul = usage(() => parseSecretFlags(['KEY=hunter2\u0000']));
    assert.ok(!nul.includes('hunter2'), nul);
    assert.equal(
      usage(() => parseSecretFlags(['K=1', 'K'])),
      'invalid --secret: K is given twice',
    );
  });

  test('--memory, --cpus, --pids: sizes and numbers in range', () => {
    assert.equal(parseMemoryFlag('256m'), 256 * 1024 * 1024);
    assert.equal(parseMemoryFlag('1g'), 1024 ** 3);
    assert.equal(parseMemoryFlag('512Mi'), 512 * 1024 * 1024);
    assert.equal(
      usage(() => parseMemoryFlag('12x')),
      'invalid --memory 12x: must be a size such as 256m or 1g',
    );
    assert.match(
      usage(() => parseMemoryFlag('1k')),
      /^invalid --memory 1k: must be at least 6m/,
    );
    assert.equal(parseCpusFlag('0.5'), 0.5);
    assert.equal(parseCpusFlag('2'), 2);
    assert.equal(
      usage(() => parseCpusFlag('half')),
      'invalid --cpus half: must be a number of CPUs, e.g. 0.5',
    );
    assert.equal(
      usage(() => parseCpusFlag('0')),
      'invalid --cpus 0: must be at least 0.01',
    );
    assert.equal(
      usage(() => parseCpusFlag('65')),
      'invalid --cpus 65: must be at most 64',
    );
    assert.equal(parsePidsFlag('512'), 512);
    assert.equal(
      usage(() => parsePidsFlag('8')),
      'invalid --pids 8: must be at least 16',
    );
    assert.equal(
      usage(() => parsePidsFlag('1e3')),
      'invalid --pids 1e3: must be a whole number, e.g. 256',
    );
  });

  test('limits: only the ones given', () => {
    assert.equal(limitsFrom({}), undefined);
    assert.deepEqual(limitsFrom({ memory: '1g' }), { memoryBytes: 1024 ** 3 });
    assert.deepEqual(limitsFrom({ cpus: '1.5', pids: '100' }), { cpus: 1.5, pids: 100 });
  });

  test('--cmd: split into words like a shell would, without one', () => {
    assert.deepEqual(splitCommand('node server.js --port 8080'), ['node', 'server.js', '--port', '8080']);
    assert.deepEqual(splitCommand(`  sh -c 'echo "hi there"; exit 3'  `), ['sh', '-c', 'echo "hi there"; exit 3']);
    assert.deepEqual(splitCommand('echo "a \\"quoted\\" word" x\\ y'), ['echo', 'a "quoted" word', 'x y']);
    assert.deepEqual(splitCommand(`printf '' "" end`), ['printf', '', '', 'end']);
    assert.deepEqual(splitCommand('echo $HOME `id` $(id) *'), ['echo', '$HOME', '`id`', '$(id)', '*']);
    assert.deepEqual(splitCommand('a"b c"d'), ['ab cd']);
    assert.deepEqual(splitCommand('tab\tsep\nline'), ['tab', 'sep', 'line']);
    assert.equal(
      usage(() => parseCmdFlag('node "server.js')),
      'invalid --cmd "node \\"server.js": has an unbalanced double quote',
    );
    assert.equal(
      usage(() => parseCmdFlag("sh -c 'exit")),
      'invalid --cmd "sh -c \'exit": has an unbalanced single quote',
    );
    assert.match(
      usage(() => parseCmdFlag('echo \\')),
      /ends with a lone backslash/,
    );
    assert.match(
      usage(() => parseCmdFlag('   ')),
      /is empty/,
    );
  });

  test('--health, --volume, --node, --timeout, <tenant>/<pod>', () => {
    assert.deepEqual(parseHealth('http:/healthz'), {
      type: 'http',
      path: '/healthz',
      intervalSeconds: 10,
      timeoutSeconds: 3,
      failureThreshold: 3,
      startGraceSeconds: 30,
    });
    assert.equal(parseHealth('tcp').type, 'tcp');
    assert.equal(parseHealth('tcp:8080').port, 8080);
    assert.equal(parseHealth('ws:/socket').type, 'ws');
    assert.match(
      usage(() => parseHealth('grpc')),
      /^invalid --health grpc: /,
    );
    assert.match(
      usage(() => parseHealth('http:no-slash')),
      /^invalid --health http:no-slash: /,
    );
    assert.deepEqual(parseVolumeFlag('/data'), { mountPath: '/data' });
    assert.match(
      usage(() => parseVolumeFlag('data')),
      /^invalid --volume data: must be an absolute/,
    );
    assert.match(
      usage(() => parseVolumeFlag('/data/../etc')),
      /^invalid --volume /,
    );
    assert.equal(parseNodeFlag('edge-1'), 'edge-1');
    assert.equal(parseNodeFlag(`nod_${'a'.repeat(24)}`), `nod_${'a'.repeat(24)}`);
    assert.match(
      usage(() => parseNodeFlag('../x')),
      /^invalid --node \.\.\/x: must be a node id/,
    );
    assert.equal(parseTimeoutFlag(undefined), 120);
    assert.equal(parseTimeoutFlag('30'), 30);
    assert.match(
      usage(() => parseTimeoutFlag('0')),
      /^invalid --timeout 0/,
    );
    assert.deepEqual(podRefArg('acme/web'), { tenantId: 'acme', podId: 'web' });
    for (const bad of ['acme', 'acme/', '/web', 'acme/web/x', 'Acme/web', '../web']) {
      assert.match(
        usage(() => podRefArg(bad)),
        /must be <tenant>\/<pod>/,
        bad,
      );
    }
  });
});
