import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, type TestContext, test } from 'node:test';
import {
  type AddNodeResult,
  type FileEntry,
  type FileListing,
  type PodView,
  TERMINAL_CLOSE,
  volumeName,
} from '@agentpod/contracts';
import { ensureTestImages, TEST_IMAGES } from '@agentpod/kit/testing';
import { type AgentHost, joinAndRun, type RunningAgent } from './support/agent.ts';
import { type Person, person } from './support/cli.ts';
import { bootstrapAdmin, type ControlPlane, startControlPlane, stopAgentAndReport } from './support/control-plane.ts';
import { docker, removeTenantResources } from './support/docker.ts';
import { startDockerScope } from './support/docker-scope.ts';
import { EXIT, exited, failed } from './support/expect.ts';
import { eventually, http } from './support/http.ts';
import { Cleanup, tempDir } from './support/stack.ts';
import { openScreen, printedLink, sampleMemory, snapshotTree, upgradeStatus } from './support/workspace.ts';
import { escapeAttempts, prepareEscapes } from './support/workspace-escapes.ts';

/*
 * The workspace through the real chain: the CLI or a WebSocket client → gateway (its own process) → NATS → the real
 * agent → docker exec in a real container, and the file routes down to the pod's named volume. Memory bounds are
 * asserted (RSS growth of the gateway and the agent while 100 MB go through a terminal read at a bounded pace, and
 * while 200 MB are uploaded and downloaded), never times: those are reported as diagnostics.
 */

const run = randomBytes(3).toString('hex');
const TENANT = `ws-${run}`;
const OTHER = `ws-other-${run}`;
const NODE = `ws-node-${run}`;
const POD = 'box';
const REF = `${TENANT}/${POD}`;
const ADMIN = 'admin@example.test';
const MB = 1_000_000;
/** Growth allowed over the baseline RSS while a flood or a big transfer goes through. */
const MEMORY_BOUND = 150 * 1024 * 1024;
const POD_PATH = `/api/v1/tenants/${TENANT}/pods/${POD}`;
const TERMINAL = `${POD_PATH}/terminal`;

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

describe('workspace: terminals and files through gateway, NATS, agent and Docker', () => {
  const cleanup = new Cleanup();
  let cp: ControlPlane;
  let url = '';
  let dir = '';
  let adminToken = '';
  let agent: RunningAgent | undefined;
  let admin: Person;
  let failures = 0;
  const people = new Map<string, { person: Person; token: string; email: string }>();

  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const answer = await http(url, method, path, { token: adminToken, body });
    if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body as T;
  };
  const gatewayOutput = () => cp.process('gateway').output();
  /** Someone invited to `tenant` as `role`, signed in through the CLI (local mode: the link the gateway printed). */
  const join_ = async (name: string, tenant: string, role: string) => {
    const email = `${name}-${run}@example.test`;
    exited(await admin.run(['tenant', 'member', 'add', tenant, email, '--role', role, '--json']), EXIT.ok);
    const link = (kind: 'sign-in' | 'invitation') =>
      eventually(async () => {
        const found = printedLink(gatewayOutput(), kind, email);
        assert.ok(found, `no ${kind} link for ${email} yet`);
        return found;
      });
    const invitation = new URL(await link('invitation')).hash.replace(/^#token=/, '');
    const someone = await person(join(dir, name), { AGENTPOD_URL: url });
    const login = await someone.run(['login', '--email', email, '--url', url, '--json'], {
      answer: { when: /Paste the link here/, with: () => link('sign-in') },
    });
    exited(login, EXIT.ok);
    const { token } = JSON.parse(await readFile(someone.credentialsFile, 'utf8')) as { token: string };
    const accepted = await http(url, 'POST', '/api/v1/invitations/accept', { token, body: { token: invitation } });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    const entry = { person: someone, token, email };
    people.set(name, entry);
    return entry;
  };
  const who = (name: string) => {
    const found = people.get(name);
    if (!found) throw new Error(`${name} did not join`);
    return found;
  };
  const exec = async (name: string, script: string) => {
    const result = await who(name).person.run(['pod', 'exec', REF, '--', 'sh', '-c', script]);
    exited(result, EXIT.ok);
    return result.stdout;
  };
  const pids = () => ({ gateway: cp.process('gateway').pid, agent: agent?.pid ?? 0 });
  const step = (name: string, body: (t: TestContext) => Promise<void>) =>
    test(name, async (t) => {
      try {
        await body(t);
      } catch (error) {
        failures++;
        throw error;
      }
    });

  before(async () => {
    await ensureTestImages();
    cp = await startControlPlane({
      instances: ['identity', 'tenants', 'pods', 'reconciler', 'gateway'],
      // Access is re-checked every half second, so a removed member's terminal closes at once.
      env: { AGENTPOD_WORKSPACE_RECHECK_MS: '500', AGENTPOD_RECONCILE_INTERVAL_MS: '1000' },
    });
    cleanup.add(() => cp.close());
    cleanup.add(() => removeTenantResources([TENANT, OTHER]));
    url = cp.url;
    dir = await tempDir(cleanup, 'workspace');
    const scope = await startDockerScope(dir, [TENANT, OTHER]);
    cleanup.add(() => scope.stop());
    const host: AgentHost = {
      stateDir: join(dir, 'agent-state'),
      home: join(dir, 'agent-home'),
      dockerSocket: scope.socketPath,
    };
    cleanup.add(
      stopAgentAndReport(
        () => agent,
        () => failures > 0,
        cp,
      ),
    );

    adminToken = await bootstrapAdmin(cp, ADMIN);
    admin = await person(join(dir, 'admin'), { AGENTPOD_URL: url, AGENTPOD_TOKEN: adminToken });
    await api('POST', '/api/v1/tenants', { id: TENANT, name: 'Workspace' });
    await api('POST', '/api/v1/tenants', { id: OTHER, name: 'Another tenant' });

    const added = await api<AddNodeResult>('POST', '/api/v1/nodes', { name: NODE });
    agent = await joinAndRun(host, url, added.joinToken);
    await api('POST', `/api/v1/tenants/${TENANT}/pods`, {
      podId: POD,
      spec: { image: TEST_IMAGES.busybox, cmd: ['sleep', '1000000'], volume: { mountPath: '/data' } },
    });
    await eventually(async () => assert.equal((await api<PodView>('GET', POD_PATH)).status, 'running'), 60_000, 200);
    await join_('alice', TENANT, 'member');
    await join_('mallory', OTHER, 'member');
  });
  after(() => cleanup.run());

  step('1. echo: a keystroke goes through the gateway, NATS and the agent to docker exec and back', async (t) => {
    const screen = await openScreen(url, TERMINAL, who('alice').token, { command: ['sh'] });
    const sent = performance.now();
    screen.terminal.input(Buffer.from('echo "answer-$((6 * 7))"\n'));
    await screen.waitFor(/answer-42/);
    t.diagnostic(`echo round trip (first, with the shell starting): ${Math.round(performance.now() - sent)} ms`);
    screen.terminal.input(Buffer.from('exit 3\n'));
    const end = await screen.terminal.ended;
    assert.deepEqual([end.exit?.code, end.closeCode], [3, TERMINAL_CLOSE.exited]);
  });

  step('2. resize reaches the pty: stty size follows', async () => {
    const screen = await openScreen(url, TERMINAL, who('alice').token, { command: ['sh'], cols: 80, rows: 24 });
    screen.terminal.input(Buffer.from('stty size\n'));
    await screen.waitFor(/^24 80\r?$/m);
    const mark = screen.text().length;
    screen.terminal.resize({ cols: 132, rows: 43 });
    // The resize and the next keystrokes travel separately; ask until the pty has taken it.
    await eventually(
      async () => {
        screen.terminal.input(Buffer.from('stty size\n'));
        await screen.waitFor(/^43 132\r?$/m, mark, 2_000);
      },
      20_000,
      0,
    );
    screen.terminal.close();
    await screen.terminal.ended;
  });

  step(
    '3. cat of 100 MB through the terminal, read at a bounded pace: gateway and agent memory stay bounded',
    async (t) => {
      await exec('alice', "head -c 100000000 /dev/zero | tr '\\000' a > /data/big && ls -l /data/big");
      const memory = sampleMemory(pids());
      await memory.ready;
      const started = performance.now();
      const screen = await openScreen(url, TERMINAL, who('alice').token, {
        command: ['cat', '/data/big'],
        pace: 20 * MB,
      });
      const end = await screen.terminal.ended;
      const seconds = (performance.now() - started) / 1000;
      const used = await memory.stop();
      t.diagnostic(`100 MB in ${seconds.toFixed(1)} s (${(screen.bytes() / MB / seconds).toFixed(1)} MB/s)`);
      for (const [name, m] of Object.entries(used)) {
        t.diagnostic(`${name}: RSS ${Math.round(m.baseline / 2 ** 20)} → peak ${Math.round(m.peak / 2 ** 20)} MiB`);
      }
      assert.equal(end.exit?.code, 0, JSON.stringify(end));
      assert.equal(screen.bytes(), 100 * MB, 'every byte arrived, none twice');
      for (const [name, m] of Object.entries(used)) {
        assert.ok(m.growth < MEMORY_BOUND, `${name} grew by ${Math.round(m.growth / 2 ** 20)} MiB`);
      }
      exited(await who('alice').person.run(['files', 'rm', `${REF}:/big`]), EXIT.ok);
    },
  );

  step('4. a member of another tenant can neither open the terminal nor touch a file: 404', async () => {
    const { token, person: mallory } = who('mallory');
    assert.equal(await upgradeStatus(url, TERMINAL, token), 404);
    assert.equal(await upgradeStatus(url, TERMINAL, who('alice').token), 101, 'the pod’s member may');
    for (const [method, path] of [
      ['GET', `${POD_PATH}/files?path=/`],
      ['GET', `${POD_PATH}/files/content?path=/secret.txt`],
      ['DELETE', `${POD_PATH}/files?path=/secret.txt`],
    ] as const) {
      const answer = await http(url, method, path, { token });
      assert.equal(answer.status, 404, `${method} ${path}: ${JSON.stringify(answer.body)}`);
    }
    const upload = await fetch(`${url}${POD_PATH}/files/content?path=/planted.txt`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: 'planted',
    });
    assert.equal(upload.status, 404);
    failed(await mallory.run(['pod', 'exec', REF, '--json', '--', 'true']), EXIT.denied, 'not_found');
    failed(await mallory.run(['files', 'ls', `${REF}:/`, '--json']), EXIT.denied, 'not_found');
    assert.equal(await exec('alice', 'test -e /data/planted.txt || echo absent'), 'absent\n');
  });

  step('5. path escapes through the REST API: every attempt refused, nothing touched', async (t) => {
    const outside = join(dir, 'outside');
    await prepareEscapes({ outside, exec: (script) => exec('alice', script) });
    const mountpoint = (await docker.getVolume(volumeName(TENANT, POD)).inspect()).Mountpoint;
    const before = { inside: await snapshotTree(mountpoint), outside: await snapshotTree(outside) };
    const attempts = escapeAttempts(outside, run);
    assert.ok(attempts.length >= 15, `${attempts.length} attempts`);
    const token = who('alice').token;
    for (const attempt of attempts) {
      const response = await fetch(`${url}${POD_PATH}${attempt.path}`, {
        method: attempt.method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(attempt.body === undefined ? {} : { 'content-type': attempt.contentType ?? 'application/json' }),
        },
        body: attempt.body,
      });
      const text = await response.text();
      assert.ok([400, 403, 404].includes(response.status), `${attempt.name}: ${response.status} ${text}`);
      assert.doesNotMatch(text, /root:x:0|host secret/, `${attempt.name} leaked content`);
      t.diagnostic(`${attempt.name}: ${response.status} ${text.slice(0, 110)}`);
    }
    assert.deepEqual(await snapshotTree(mountpoint), before.inside, 'the volume is as it was');
    assert.deepEqual(await snapshotTree(outside), before.outside, 'the host directory is as it was');
    for (const planted of [`/tmp/escaped-${run}`, `/escaped-${run}`, join(outside, `escaped-${run}`)]) {
      await assert.rejects(stat(planted), `${planted} must not exist`);
    }
  });

  step('6. 200 MB uploaded and downloaded, streamed, byte-identical; memory stays bounded', async (t) => {
    const local = join(dir, 'upload.bin');
    await pipeline(
      Readable.from(
        (function* () {
          for (let i = 0; i < 200; i++) yield randomBytes(MB);
        })(),
      ),
      createWriteStream(local),
    );
    const expected = await sha256File(local);
    const token = who('alice').token;

    const memory = sampleMemory(pids());
    await memory.ready;
    let started = performance.now();
    const uploaded = await fetch(`${url}${POD_PATH}/files/content?path=/upload.bin`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/octet-stream',
        'content-length': String(200 * MB),
      },
      body: Readable.toWeb(createReadStream(local)) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    const entry = (await uploaded.json()) as FileEntry;
    t.diagnostic(`upload: ${((200 / (performance.now() - started)) * 1000).toFixed(1)} MB/s`);
    assert.equal(uploaded.status, 201, JSON.stringify(entry));
    assert.equal(entry.size, 200 * MB);
    assert.equal((await exec('alice', 'sha256sum /data/upload.bin')).split(' ')[0], expected, 'as stored');

    started = performance.now();
    const downloaded = await fetch(`${url}${POD_PATH}/files/content?path=/upload.bin`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(downloaded.status, 200);
    assert.equal(downloaded.headers.get('content-length'), String(200 * MB));
    assert.equal(downloaded.headers.get('etag'), `"${entry.version}"`);
    const hash = createHash('sha256');
    await pipeline(Readable.fromWeb(downloaded.body as never), hash);
    t.diagnostic(`download: ${((200 / (performance.now() - started)) * 1000).toFixed(1)} MB/s`);
    const used = await memory.stop();
    assert.equal(hash.digest('hex'), expected, 'downloaded as uploaded');
    for (const [name, m] of Object.entries(used)) {
      t.diagnostic(`${name}: RSS ${Math.round(m.baseline / 2 ** 20)} → peak ${Math.round(m.peak / 2 ** 20)} MiB`);
      assert.ok(m.growth < MEMORY_BOUND, `${name} grew by ${Math.round(m.growth / 2 ** 20)} MiB`);
    }
    exited(await who('alice').person.run(['files', 'rm', `${REF}:/upload.bin`]), EXIT.ok);
  });

  step('7. agentpod pod exec: the remote exit code, stdout and stderr apart, stdin with -i', async () => {
    const { person: alice } = who('alice');
    const seven = await alice.run(['pod', 'exec', REF, '--', 'sh', '-c', 'exit 7']);
    exited(seven, 7);
    const apart = await alice.run(['pod', 'exec', REF, '--', 'sh', '-c', 'echo out; echo err >&2']);
    exited(apart, EXIT.ok);
    assert.deepEqual([apart.stdout, apart.stderr], ['out\n', 'err\n']);
    const piped = await alice.run(['pod', 'exec', '-i', REF, '--', 'sha256sum'], { stdin: 'through stdin' });
    exited(piped, EXIT.ok);
    assert.equal(piped.stdout.split(' ')[0], sha256('through stdin'));
  });

  step('8. agentpod files: put, ls, get round trip; a stale --if-version is a conflict', async () => {
    const { person: alice } = who('alice');
    const local = join(dir, 'cli-upload.bin');
    await writeFile(local, randomBytes(3 * MB + 11));
    exited(await alice.run(['files', 'mkdir', '-p', `${REF}:/cli/in`]), EXIT.ok);
    const put = await alice.run(['files', 'put', local, `${REF}:/cli/in/`, '--json']);
    exited(put, EXIT.ok);
    const entry = put.json<FileEntry>();
    assert.deepEqual([entry.path, entry.size], ['/cli/in/cli-upload.bin', 3 * MB + 11]);
    const listed = await alice.run(['files', 'ls', `${REF}:/cli/in`, '--json']);
    exited(listed, EXIT.ok);
    assert.deepEqual(
      listed.json<FileListing>().entries.map((e) => [e.name, e.size]),
      [['cli-upload.bin', 3 * MB + 11]],
    );
    const back = join(dir, 'cli-download.bin');
    exited(await alice.run(['files', 'get', `${REF}:/cli/in/cli-upload.bin`, back]), EXIT.ok);
    assert.equal(await sha256File(back), await sha256File(local));
    const stale = await alice.run(['files', 'put', local, `${REF}:/cli/in/cli-upload.bin`, '--if-version', 'stale']);
    exited(stale, EXIT.failure);
    exited(await alice.run(['files', 'chmod', '600', `${REF}:/cli/in/cli-upload.bin`]), EXIT.ok);
    exited(await alice.run(['files', 'mv', `${REF}:/cli/in/cli-upload.bin`, '/cli/moved.bin']), EXIT.ok);
    assert.equal(await exec('alice', 'stat -c %a /data/cli/moved.bin'), '600\n');
    exited(await alice.run(['files', 'rm', '-r', `${REF}:/cli`]), EXIT.ok);
    assert.equal(await exec('alice', 'test -e /data/cli || echo gone'), 'gone\n');
  });

  step('9. a member removed from the tenant: their open terminal is closed (4403) within seconds', async (t) => {
    const carol = await join_('carol', TENANT, 'member');
    const screen = await openScreen(url, TERMINAL, carol.token, { command: ['sh'] });
    screen.terminal.input(Buffer.from('echo still-here\n'));
    await screen.waitFor(/still-here\r?\n/);
    const removed = performance.now();
    exited(await admin.run(['tenant', 'member', 'remove', TENANT, carol.email]), EXIT.ok);
    const end = await screen.terminal.ended;
    t.diagnostic(`removed → terminal closed after ${Math.round(performance.now() - removed)} ms`);
    assert.equal(end.closeCode, TERMINAL_CLOSE.accessLost, JSON.stringify(end));
    assert.match(end.error?.message ?? '', /access/);
    assert.equal(await upgradeStatus(url, TERMINAL, carol.token), 404, 'and cannot open another');
  });
});
