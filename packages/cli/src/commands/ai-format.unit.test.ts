import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CreatePod } from '@agentpod/contracts';
import { cleanAnswer, createCommand, shellWord } from './ai-format.ts';
import { splitCommand } from './pod-flags.ts';

test('cleanAnswer keeps lines and tabs, shows every other control character', () => {
  assert.equal(cleanAnswer('a\n\tb'), 'a\n\tb');
  assert.equal(cleanAnswer('x\ry\u001b[2J\u202e'), 'x\\u{d}y\\u{1b}[2J\\u{202e}');
});

test('shellWord quotes what a shell would read otherwise, and a quote inside survives', () => {
  assert.equal(shellWord('nginx:1.27'), 'nginx:1.27');
  assert.equal(shellWord('a b'), "'a b'");
  assert.equal(shellWord("it's"), `'it'\\''s'`);
  assert.equal(shellWord('$(rm -rf /)'), "'$(rm -rf /)'");
  assert.equal(shellWord(''), "''");
});

test('createCommand: only the flags that differ from the defaults; --cmd splits back into the same words', () => {
  const body = CreatePod.parse({
    tenantId: 'acme',
    podId: 'app',
    spec: {
      image: 'busybox:1.36',
      cmd: ['sh', '-c', "echo 'hi there'; sleep 1"],
      ports: [{ containerPort: 53, protocol: 'udp', public: true }],
    },
  });
  const { command, notLimited } = createCommand(body);
  assert.deepEqual(notLimited, []);
  assert.ok(
    command.startsWith("agentpod pod create acme/app --image busybox:1.36 --port 53/udp:public --cmd '"),
    command,
  );
  assert.ok(!command.includes('--memory') && !command.includes('--restart'), 'defaults are left out');
  // What the shell hands the CLI for --cmd, split as `pod create` splits it: the original words.
  const cmdArg = command.slice(command.indexOf('--cmd ') + 6);
  const shellRead = cmdArg.slice(1, -1).replaceAll(`'\\''`, "'");
  assert.deepEqual(splitCommand(shellRead), ['sh', '-c', "echo 'hi there'; sleep 1"]);

  const special = CreatePod.parse({
    tenantId: 'acme',
    podId: 'tpl',
    spec: {
      image: 'ghcr.io/acme/agent:1',
      template: 'openclaw',
      ports: [{ containerPort: 8080 }],
      health: { type: 'http', path: '/ok', failureThreshold: 5 },
      secretNames: ['TOKEN'],
    },
    secrets: { TOKEN: 'generated-value' },
  });
  const generated = createCommand(special);
  assert.match(generated.command, /--secret TOKEN --health http:\/ok$/);
  assert.ok(!generated.command.includes('generated-value'), 'a secret value is typed at create time, not printed');
  assert.deepEqual(generated.notLimited, ['the health check’s port or timings', 'the template openclaw']);
});
