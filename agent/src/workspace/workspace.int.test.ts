import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type AgentFrame,
  FILE_CHUNK_BYTES,
  FILE_WINDOW_BYTES,
  type FileEntry,
  type Reply,
  volumeName,
} from '@agentpod/contracts';
import { createLogger } from '@agentpod/kit';
import { ensureTestImages, TEST_IMAGES } from '@agentpod/kit/testing';
import Docker from 'dockerode';
import { type RunningAgent, startAgent } from '../agent.ts';
import { ReconnectBackoff } from '../connection/backoff.ts';
import { agentSocketUrl } from '../connection/frames.ts';
import { DockerRuntime } from '../runtime/index.ts';
import { startTestGateway, type TestGateway } from '../testing/test-gateway.ts';

/*
 * The workspace through the agent's real path: an in-process agent on the real Docker Engine, dialled into the
 * test gateway, every request a `req` frame and every session byte a `session`/`pub` frame over the WebSocket.
 */

const docker = new Docker();
const run = randomBytes(3).toString('hex');
const RUN_LABEL = 'agentpod-test.run';
const tenantId = `ws-${run}`;
const podId = 'shell';
const volume = volumeName(tenantId, podId);

type Pub = Extract<AgentFrame, { t: 'pub' }>;
type Message = Record<string, unknown> & { t: string };

let gateway: TestGateway;
let agent: RunningAgent;
let containerId: string;
let hostRoot: string;
let counter = 0;
const newSession = () => `ws-${run}-${++counter}-session`;

const isPub =
  (session: string, match: (message: Message) => boolean = () => true) =>
  (frame: AgentFrame): frame is Pub =>
    frame.t === 'pub' && frame.session === session && match(JSON.parse(frame.data) as Message);
const messages = (session: string) =>
  gateway.frames.filter(isPub(session)).map((frame) => JSON.parse(frame.data) as Message);
const say = (session: string, message: unknown) =>
  gateway.send({ t: 'session', session, data: JSON.stringify(message) });
const next = async (session: string, match: (message: Message) => boolean, from = 0, timeoutMs = 30_000) =>
  JSON.parse((await gateway.waitFor(isPub(session, match), from, timeoutMs)).data) as Message;

/** Terminal output so far, decoded (per stream). */
const output = (session: string, stream = 'stdout') =>
  messages(session)
    .filter((m) => m.t === 'out' && m.stream === stream)
    .map((m) => Buffer.from(m.data as string, 'base64').toString('utf8'))
    .join('');
async function waitOutput(session: string, pattern: RegExp, stream = 'stdout'): Promise<void> {
  for (let i = 0; i < 600 && !pattern.test(output(session, stream)); i++)
    await new Promise((resolve) => setTimeout(resolve, 50));
  assert.match(output(session, stream), pattern);
}
const typed = (text: string) => ({ t: 'in', data: Buffer.from(text).toString('base64') });

async function ok<T>(reply: Promise<Reply>): Promise<T> {
  const answer = await reply;
  assert.ok(answer.ok, JSON.stringify(answer));
  return answer.result as T;
}
async function refused(reply: Promise<Reply>, code: string): Promise<string> {
  const answer = await reply;
  assert.ok(!answer.ok, JSON.stringify(answer));
  assert.equal(answer.error.code, code, answer.error.message);
  return answer.error.message;
}

/** The processes in the container, as `ps` columns (Docker's top). */
async function processes(id: string): Promise<string[]> {
  const top = await docker.getContainer(id).top({ ps_args: '-eo pid,args' });
  return (top.Processes ?? []).map((row: string[]) => row.join(' '));
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

before(async () => {
  await ensureTestImages();
  hostRoot = await mkdtemp(join(tmpdir(), 'agentpod-ws-host-'));
  gateway = await startTestGateway();
  const credential = `apn_${randomBytes(24).toString('hex')}`;
  gateway.credentials.add(credential);
  agent = startAgent({
    runtime: new DockerRuntime(docker, { pull: 'never' }),
    facts: async () => ({
      hostname: 'test',
      os: 'linux',
      arch: 'x64',
      cpus: 1,
      memoryBytes: 1,
      diskBytes: 1,
      diskFreeBytes: 1,
      dockerVersion: null,
      agentVersion: 'test',
    }),
    target: async () => ({ url: agentSocketUrl(gateway.url), credential }),
    logger: createLogger('agent-ws-test', 'silent'),
    backoff: new ReconnectBackoff({ initialMs: 50, maxMs: 200, factor: 2, jitter: 0 }),
    workspace: { docker, fileRoots: [hostRoot], maxTerminals: 4, maxUploadBytes: 64 << 20 },
  });
  await gateway.waitFor((frame) => frame.t === 'hello', 0, 60_000);
  const created = await ok<{ containerId: string }>(
    gateway.request('createContainer', {
      spec: {
        tenantId,
        podId,
        generation: 1,
        image: TEST_IMAGES.busybox,
        cmd: ['sleep', '3600'],
        volume: { name: volume, mountPath: '/data' },
        limits: { memoryBytes: 64 << 20, cpus: 0.5, pids: 64 },
        labels: { [RUN_LABEL]: run },
      },
    }),
  );
  containerId = created.containerId;
  await ok(gateway.request('startContainer', { containerId }));
});

after(async () => {
  await agent?.stop();
  await gateway?.close();
  const containers = await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${run}`] } });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })));
  for (const name of [volume, `agentpod-${tenantId}_unlabelled`])
    await docker
      .getVolume(name)
      .remove()
      .catch(() => {});
  if (hostRoot) await rm(hostRoot, { recursive: true, force: true });
});

describe('container terminals (docker exec)', () => {
  test('echo round trip, resize, a retried open, and the exit code', async () => {
    const session = newSession();
    const open = { sessionId: session, target: { kind: 'container', containerId }, size: { cols: 80, rows: 24 } };
    const opened = await ok<{ pid: number }>(gateway.request('terminalOpen', open));
    assert.ok(opened.pid > 0);
    assert.deepEqual(await ok(gateway.request('terminalOpen', open)), opened, 'the same answer, nothing new started');
    say(session, typed('echo hi-$((1+2))\n'));
    await waitOutput(session, /hi-3/);
    say(session, { t: 'resize', cols: 120, rows: 40 });
    say(session, typed('stty size\n'));
    await waitOutput(session, /40 120/);
    say(session, typed('exit 7\n'));
    const exit = await next(session, (m) => m.t === 'exit');
    assert.deepEqual(exit, { t: 'exit', code: 7 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(messages(session).filter((m) => m.t === 'exit').length, 1);
    assert.equal(messages(session).at(-1)?.t, 'exit');
  });

  test('without a tty: stdout and stderr apart, input until eof, the exit code', async () => {
    const session = newSession();
    await ok(
      gateway.request('terminalOpen', {
        sessionId: session,
        target: { kind: 'container', containerId },
        command: ['sh', '-c', 'cat; echo err >&2; exit 3'],
        tty: false,
      }),
    );
    say(session, typed('abc\n'));
    await waitOutput(session, /abc/);
    say(session, { t: 'eof' });
    assert.deepEqual(await next(session, (m) => m.t === 'exit'), { t: 'exit', code: 3 });
    assert.equal(output(session, 'stdout'), 'abc\n');
    assert.equal(output(session, 'stderr'), 'err\n');
  });

  test('close kills the exec and what it started: nothing is left in the container', async () => {
    for (const tty of [true, false]) {
      const session = newSession();
      const marker = tty ? '1234' : '2345';
      await ok(
        gateway.request('terminalOpen', {
          sessionId: session,
          target: { kind: 'container', containerId },
          tty,
          ...(tty ? {} : { command: ['sh', '-c', `sleep ${marker}; echo never`] }),
        }),
      );
      if (tty) say(session, typed(`sleep ${marker}\n`));
      for (let i = 0; i < 200 && !(await processes(containerId)).some((p) => p.includes(`sleep ${marker}`)); i++)
        await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(
        (await processes(containerId)).some((p) => p.includes(`sleep ${marker}`)),
        'running first',
      );
      say(session, { t: 'close' });
      await next(session, (m) => m.t === 'exit');
      // SIGKILL follows SIGHUP after 2 s for whatever ignored it.
      for (let i = 0; i < 100 && (await processes(containerId)).length > 1; i++)
        await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(
        (await processes(containerId)).map((p) => p.replace(/^\s*\d+\s+/, '')),
        ['sleep 3600'],
        `tty ${tty}: only the container's own process is left`,
      );
    }
  });

  test('a container that is not AgentPod’s is forbidden; one that does not exist is not_found', async () => {
    const plain = await docker.createContainer({
      Image: TEST_IMAGES.busybox,
      Cmd: ['sleep', '60'],
      Labels: { [RUN_LABEL]: run },
    });
    await plain.start();
    await refused(
      gateway.request('terminalOpen', {
        sessionId: newSession(),
        target: { kind: 'container', containerId: plain.id },
      }),
      'forbidden',
    );
    await refused(
      gateway.request('terminalOpen', {
        sessionId: newSession(),
        target: { kind: 'container', containerId: 'nope-nope' },
      }),
      'not_found',
    );
  });
});

describe('node terminals (node-pty)', () => {
  test('a login shell on the host: echo round trip and exit', async () => {
    const session = newSession();
    const opened = await ok<{ pid: number }>(
      gateway.request('terminalOpen', { sessionId: session, target: { kind: 'host' } }),
    );
    assert.ok(opened.pid > 0);
    say(session, typed('echo hi-$((40+2))\n'));
    await waitOutput(session, /hi-42/);
    say(session, typed('exit\n'));
    assert.deepEqual(await next(session, (m) => m.t === 'exit'), { t: 'exit', code: 0 });
  });

  test('at most AGENTPOD_TERMINAL_MAX_SESSIONS at once: the next is unavailable, with the variable named', async () => {
    const sessions = [newSession(), newSession(), newSession(), newSession()];
    for (const session of sessions)
      await ok(
        gateway.request('terminalOpen', {
          sessionId: session,
          target: { kind: 'host' },
          command: ['sleep', '60'],
          tty: false,
        }),
      );
    const message = await refused(
      gateway.request('terminalOpen', { sessionId: newSession(), target: { kind: 'host' }, command: ['sleep', '60'] }),
      'unavailable',
    );
    assert.match(message, /AGENTPOD_TERMINAL_MAX_SESSIONS/);
    for (const session of sessions) say(session, { t: 'close' });
    for (const session of sessions) await next(session, (m) => m.t === 'exit');
  });

  test('a dropped socket ends every session: the process is killed, the exit arrives on the next socket', async () => {
    const session = newSession();
    const { pid } = await ok<{ pid: number }>(
      gateway.request('terminalOpen', {
        sessionId: session,
        target: { kind: 'host' },
        command: ['sleep', '4321'],
        tty: false,
      }),
    );
    assert.ok(alive(pid));
    const mark = gateway.frames.length;
    gateway.dropSocket();
    await gateway.waitFor((frame) => frame.t === 'hello', mark);
    const exit = await next(session, (m) => m.t === 'exit', mark);
    assert.equal(exit.code, null);
    assert.equal(exit.signal, 'SIGHUP');
    assert.equal(alive(pid), false);
  });
});

describe('files through sessions', () => {
  const scope = { kind: 'volume', volume };
  const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

  async function upload(path: string, bytes: Buffer): Promise<FileEntry> {
    const session = newSession();
    await ok(gateway.request('fileUpload', { scope, path, sessionId: session, size: bytes.length }));
    let sent = 0;
    let acked = 0;
    while (sent < bytes.length) {
      if (sent - acked + FILE_CHUNK_BYTES > FILE_WINDOW_BYTES) {
        const ack = await next(session, (m) => m.t === 'ack' && (m.bytes as number) > acked);
        acked = messages(session).reduce(
          (most, m) => (m.t === 'ack' ? Math.max(most, m.bytes as number) : most),
          ack.bytes as number,
        );
        continue;
      }
      const chunk = bytes.subarray(sent, sent + FILE_CHUNK_BYTES);
      say(session, { t: 'data', data: chunk.toString('base64') });
      sent += chunk.length;
    }
    say(session, { t: 'end' });
    const last = await next(session, (m) => m.t === 'done' || m.t === 'error', 0, 120_000);
    assert.equal(last.t, 'done', JSON.stringify(last));
    return last.entry as FileEntry;
  }

  async function download(path: string): Promise<{ entry: FileEntry; bytes: Buffer }> {
    const session = newSession();
    const entry = await ok<FileEntry>(gateway.request('fileDownload', { scope, path, sessionId: session }));
    const chunks: Buffer[] = [];
    let received = 0;
    let from = 0;
    for (;;) {
      const frame = await gateway.waitFor(isPub(session), from, 120_000);
      from = gateway.frames.indexOf(frame, from) + 1;
      const message = JSON.parse(frame.data) as Message;
      if (message.t === 'end') return { entry, bytes: Buffer.concat(chunks) };
      assert.equal(message.t, 'data', JSON.stringify(message));
      const chunk = Buffer.from(message.data as string, 'base64');
      chunks.push(chunk);
      received += chunk.length;
      say(session, { t: 'ack', bytes: received });
    }
  }

  test('50 MB up and down through the pod volume, byte-identical', async (t) => {
    const bytes = randomBytes(50 << 20);
    const started = performance.now();
    const entry = await upload('/big.bin', bytes);
    const uploaded = performance.now();
    assert.equal(entry.size, bytes.length);
    const { Mountpoint } = await docker.getVolume(volume).inspect();
    assert.equal(sha(await readFile(join(Mountpoint, 'big.bin'))), sha(bytes), 'on disk');
    const downloadStarted = performance.now();
    const back = await download('/big.bin');
    const mbps = (ms: number) => `${(50 / (ms / 1000)).toFixed(1)} MB/s`;
    t.diagnostic(`upload ${mbps(uploaded - started)}, download ${mbps(performance.now() - downloadStarted)}`);
    assert.equal(back.entry.size, bytes.length);
    assert.equal(sha(back.bytes), sha(bytes), 'downloaded');
    // And the container sees it where its volume is mounted.
    const listing = await ok<{ entries: FileEntry[] }>(gateway.request('fileList', { scope, path: '/' }));
    assert.ok(listing.entries.some((e) => e.name === 'big.bin' && e.size === bytes.length));
  });

  test('only AgentPod pod volumes: another name is forbidden, an unlabelled look-alike too', async () => {
    await refused(
      gateway.request('fileList', { scope: { kind: 'volume', volume: 'some-volume' }, path: '/' }),
      'forbidden',
    );
    await docker.createVolume({ Name: `agentpod-${tenantId}_unlabelled` });
    await refused(
      gateway.request('fileList', { scope: { kind: 'volume', volume: `agentpod-${tenantId}_unlabelled` }, path: '/' }),
      'forbidden',
    );
    await refused(
      gateway.request('fileList', { scope: { kind: 'volume', volume: `agentpod-${tenantId}_none` }, path: '/' }),
      'not_found',
    );
  });

  test('the host scope lists its roots; every frame the agent sent matched the contract', async () => {
    const roots = await ok<{ entries: FileEntry[] }>(
      gateway.request('fileList', { scope: { kind: 'host' }, path: '/' }),
    );
    assert.deepEqual(
      roots.entries.map((e) => e.path),
      [hostRoot],
    );
    assert.deepEqual(gateway.violations, []);
  });
});
