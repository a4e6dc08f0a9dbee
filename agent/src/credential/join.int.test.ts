import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AppError } from '@agentpod/contracts';
import { freePort } from '@agentpod/kit/testing';
import { joinCommand } from '../commands/join.ts';
import { recordingLogger } from '../testing/recording-logger.ts';
import { isFrame, startTestGateway } from '../testing/test-gateway.ts';
import { localJoin } from './local-join.ts';
import { credentialFile, readCredential, saveCredential } from './store.ts';

/* Joining: the HTTP calls against a real server, the credential file on a real file system. */

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'agentpod-join-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** `agentpod-agent <args>` as a child process: its exit code and output. */
async function agentCli(args: string[], env: Record<string, string>) {
  const { AGENTPOD_GATEWAY_URL: _, ...inherited } = process.env;
  return promisify(execFile)(process.execPath, ['--conditions=development', '--import', 'tsx', MAIN, ...args], {
    cwd: REPO,
    env: { ...inherited, ...env },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr,
    }),
  );
}

describe('joining a node', () => {
  test('join saves the credential 0600 in a 0700 directory and prints the node id and what to run', async () => {
    const gateway = await startTestGateway();
    cleanups.push(() => gateway.close());
    const stateDir = join(await tempDir(), 'agent');
    const printed: string[] = [];
    await joinCommand({
      url: gateway.url,
      token: gateway.issueJoinToken(),
      stateDir,
      fetch,
      out: (t) => printed.push(t),
    });
    const saved = await readCredential(stateDir);
    assert.equal(saved?.nodeId, gateway.nodeId);
    assert.equal(saved?.gatewayUrl, `${gateway.url}/`);
    assert.ok(saved && gateway.credentials.has(saved.credential));
    assert.equal((await stat(stateDir)).mode & 0o777, 0o700);
    assert.equal((await stat(credentialFile(stateDir))).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(stateDir), ['credential.json'], 'no temporary file is left behind');
    assert.match(printed.join(''), new RegExp(`as node ${gateway.nodeId}`));
    assert.match(printed.join(''), /agentpod-agent run/);
    assert.doesNotMatch(printed.join(''), /calls itself/);
  });

  test('the URL given to join is the one saved, even when the control plane calls itself otherwise', async () => {
    const gateway = await startTestGateway({ publicUrl: 'https://agentpod.example.test' });
    cleanups.push(() => gateway.close());
    const stateDir = await tempDir();
    const printed: string[] = [];
    await joinCommand({
      url: gateway.url,
      token: gateway.issueJoinToken(),
      stateDir,
      fetch,
      out: (t) => printed.push(t),
    });
    assert.equal((await readCredential(stateDir))?.gatewayUrl, `${gateway.url}/`);
    assert.match(printed.join(''), /calls itself https:\/\/agentpod\.example\.test/);
  });

  test('a used or unknown token is refused with the gateway’s words, and nothing is saved', async () => {
    const gateway = await startTestGateway();
    cleanups.push(() => gateway.close());
    const stateDir = await tempDir();
    const token = gateway.issueJoinToken();
    await joinCommand({ url: gateway.url, token, stateDir, fetch, out: () => {} });
    const other = await tempDir();
    await assert.rejects(
      joinCommand({ url: gateway.url, token, stateDir: other, fetch, out: () => {} }),
      (error: unknown) =>
        error instanceof AppError && error.code === 'unauthenticated' && /used join token/.test(error.message),
    );
    assert.equal(await readCredential(other), null);
    await assert.rejects(
      joinCommand({ url: 'ftp://x', token, stateDir: other, fetch, out: () => {} }),
      /must start with https:\/\//,
    );
  });

  test('an unreachable control plane says so', async () => {
    const port = await freePort();
    await assert.rejects(
      joinCommand({
        url: `http://127.0.0.1:${port}`,
        token: `apj_${'x'.repeat(40)}`,
        stateDir: await tempDir(),
        fetch,
        out: () => {},
      }),
      (error: unknown) =>
        error instanceof AppError && error.code === 'unavailable' && /not reachable/.test(error.message),
    );
  });

  test('a credential file that is not one is an error naming the file', async () => {
    const stateDir = await tempDir();
    await writeFile(credentialFile(stateDir), '{"gatewayUrl":"http://x"}');
    await assert.rejects(readCredential(stateDir), /credential\.json is not a node credential/);
    await saveCredential(stateDir, {
      gatewayUrl: 'http://127.0.0.1:1/',
      nodeId: `nod_${'a'.repeat(24)}`,
      credential: `apn_${'b'.repeat(40)}`,
    });
    assert.equal((await readCredential(stateDir))?.nodeId, `nod_${'a'.repeat(24)}`);
  });

  test('local join waits for the gateway and its bootstrap secret, then joins', async () => {
    const port = await freePort();
    const bootstrapDir = await tempDir();
    const stateDir = join(await tempDir(), 'agent');
    const log = recordingLogger();
    const joining = localJoin({
      fetch,
      gatewayUrl: `http://127.0.0.1:${port}`,
      bootstrapDir,
      stateDir,
      logger: log.logger,
    });
    while (!log.messages().some((m) => m.includes('no bootstrap secret'))) await new Promise((r) => setTimeout(r, 20));
    await writeFile(join(bootstrapDir, 'bootstrap-secret'), 'not-yet-the-right-one');
    while (!log.messages().some((m) => m.includes('not reachable'))) await new Promise((r) => setTimeout(r, 20));
    const gateway = await startTestGateway({ port });
    cleanups.push(() => gateway.close());
    while (!log.messages().some((m) => m.includes('wrong bootstrap secret')))
      await new Promise((r) => setTimeout(r, 20));
    await writeFile(join(bootstrapDir, 'bootstrap-secret'), `${gateway.bootstrapSecret}\n`);
    const stored = await joining;
    assert.equal(stored.nodeId, gateway.nodeId);
    assert.deepEqual(await readCredential(stateDir), stored);
    assert.ok(log.lines.some((l) => l.level === 'warn' && /local join: waiting for the gateway/.test(l.message)));
  });

  test('run with local join: joins the local control plane, says hello, and joins again when refused', async () => {
    const gateway = await startTestGateway();
    cleanups.push(() => gateway.close());
    const bootstrapDir = await tempDir();
    await writeFile(join(bootstrapDir, 'bootstrap-secret'), gateway.bootstrapSecret);
    const stateDir = join(await tempDir(), 'agent');
    const { AGENTPOD_GATEWAY_URL: _, ...inherited } = process.env;
    const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', MAIN, 'run'], {
      cwd: REPO,
      env: {
        ...inherited,
        AGENTPOD_AGENT_STATE_DIR: stateDir,
        AGENTPOD_STATE_DIR: bootstrapDir,
        AGENTPOD_AGENT_LOCAL_JOIN: '1',
        AGENTPOD_GATEWAY_URL: gateway.url,
      },
      stdio: 'ignore',
    });
    cleanups.push(async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    });
    await gateway.waitFor(isFrame('hello'), 0, 60_000);
    const first = await readCredential(stateDir);
    assert.ok(first && gateway.credentials.has(first.credential));
    // The control plane forgot the node (state wiped): the agent joins again instead of knocking forever.
    gateway.credentials.clear();
    const mark = gateway.frames.length;
    gateway.dropSocket();
    await gateway.waitFor(isFrame('hello'), mark, 60_000);
    const second = await readCredential(stateDir);
    assert.ok(second && second.credential !== first.credential && gateway.credentials.has(second.credential));
  });

  test('the binary: run without a credential says what to do; status reports; join then status', async () => {
    const gateway = await startTestGateway();
    cleanups.push(() => gateway.close());
    const stateDir = join(await tempDir(), 'agent');
    const env = { AGENTPOD_AGENT_STATE_DIR: stateDir };
    const runNoCredential = await agentCli(['run'], env);
    assert.equal(runNoCredential.code, 1);
    assert.match(runNoCredential.stderr, /has not joined yet.*agentpod-agent join <url> <token>/s);
    const statusBefore = await agentCli(['status'], env);
    assert.equal(statusBefore.code, 1);
    assert.match(statusBefore.stdout, /credential\s+none at/);
    const joined = await agentCli(['join', gateway.url, gateway.issueJoinToken()], env);
    assert.equal(joined.code, 0, joined.stderr);
    assert.match(joined.stdout, new RegExp(gateway.nodeId));
    const status = await agentCli(['status', '--json'], env);
    const parsed = JSON.parse(status.stdout) as { nodeId: string; credential: string; gateway: { reachable: boolean } };
    assert.equal(parsed.nodeId, gateway.nodeId);
    assert.equal(parsed.credential, 'present');
    assert.equal(parsed.gateway.reachable, true);
    const usage = await agentCli(['frobnicate'], env);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /unknown command "frobnicate"/);
  });
});
