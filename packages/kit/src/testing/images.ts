import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

/*
 * The images every Docker test uses, built on this machine from files already on it, never pulled: tests must
 * not depend on a registry, its rate limits or the network. Each image is a `docker import` of a root
 * filesystem assembled in a temporary directory, labelled with a hash of its recipe; a build is skipped while
 * the image with that tag carries the current hash, so only the first test run after a change pays for it.
 *
 * - agentpod-test/busybox:1 — Debian's static busybox with every applet linked in /bin (sh, sleep, nc, httpd…).
 * - agentpod-test/node:1 — busybox plus this machine's node binary (the one running the tests) with the shared
 *   libraries `ldd` lists, and a small HTTP app (TEST_APP_SOURCE below) as its command, on port 8080.
 */

export const TEST_IMAGES = { busybox: 'agentpod-test/busybox:1', node: 'agentpod-test/node:1' } as const;
export type TestImages = typeof TEST_IMAGES;
/** The port the node image's app listens on (change it with the PORT env var). */
export const TEST_APP_PORT = 8080;

/*
 * The node image's app. Plain CommonJS for the node that runs the tests; no dependency.
 *   GET /healthz        200 "ok", or 500 once /fail was called or HEALTH_FAIL_AFTER_SECONDS have passed
 *   GET /ws (upgrade)   a WebSocket echo: every text or binary message comes back as it came (pings get pongs);
 *                       written by hand (RFC 6455 handshake and frames, messages up to 64 KiB, no extensions)
 *   GET /fail           makes /healthz fail from now on
 *   GET /env            JSON array of the environment's variable names;  GET /env/<NAME>: its value (404 unset)
 *   GET /exit?code=N    answers, then exits with N (default 1)
 *   PUT /data/<name>    writes the body to $DATA_DIR/<name> (default /data); GET reads it; GET /data lists
 * EXIT_AT_START=N exits with N at once; CRASH_AFTER_SECONDS=S exits with 1 after S seconds. It logs every request
 * to stdout and one line to stderr at start, and exits 0 on SIGTERM (a PID 1 without a handler would ignore it).
 */
const TEST_APP_SOURCE = `'use strict';
const http = require('node:http');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const env = process.env;
if (env.EXIT_AT_START !== undefined) {
  console.error('exiting at start with ' + env.EXIT_AT_START);
  process.exit(Number(env.EXIT_AT_START));
}
const port = Number(env.PORT || ${TEST_APP_PORT});
const dataDir = env.DATA_DIR || '/data';
const started = Date.now();
const failAfter = Number(env.HEALTH_FAIL_AFTER_SECONDS || 0);
let failing = false;
const healthy = () => !failing && !(failAfter > 0 && Date.now() - started >= failAfter * 1000);
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://app');
  console.log(req.method + ' ' + url.pathname);
  const send = (status, body, type) => {
    res.writeHead(status, { 'content-type': type || 'text/plain' });
    res.end(body);
  };
  const file = /^\\/data\\/([A-Za-z0-9._-]{1,100})$/.exec(url.pathname);
  if (url.pathname === '/healthz') return healthy() ? send(200, 'ok\\n') : send(500, 'failing\\n');
  if (url.pathname === '/fail') return (failing = true), send(200, 'health fails from now on\\n');
  if (url.pathname === '/env') return send(200, JSON.stringify(Object.keys(env).sort()), 'application/json');
  if (url.pathname.startsWith('/env/')) {
    const value = env[url.pathname.slice(5)];
    return value === undefined ? send(404, 'unset\\n') : send(200, value);
  }
  if (url.pathname === '/exit') {
    const code = Number(url.searchParams.get('code') || 1);
    res.on('finish', () => process.exit(code));
    return send(200, 'exiting with ' + code + '\\n');
  }
  if (url.pathname === '/data') return send(200, JSON.stringify(fs.readdirSync(dataDir).sort()), 'application/json');
  if (file && file[1] !== '.' && file[1] !== '..') {
    const target = path.join(dataDir, file[1]);
    if (req.method !== 'PUT') return fs.readFile(target, (err, data) => (err ? send(404, 'no such file\\n') : send(200, data)));
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    return req.on('end', () => fs.writeFile(target, Buffer.concat(chunks), (err) => (err ? send(500, err.message) : send(201, 'written\\n'))));
  }
  send(url.pathname === '/' ? 200 : 404, url.pathname === '/' ? 'agentpod test app\\n' : 'not found\\n');
});
const CRLF = '\\r\\n';
const wsFrame = (opcode, payload) => {
  const head = payload.length < 126 ? Buffer.from([0x80 | opcode, payload.length]) : Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 255]);
  return Buffer.concat([head, payload]);
};
server.on('upgrade', (req, socket) => {
  socket.on('error', () => {});
  const key = req.headers['sec-websocket-key'];
  if (new URL(req.url, 'http://app').pathname !== '/ws' || !key || String(req.headers.upgrade).toLowerCase() !== 'websocket')
    return socket.end('HTTP/1.1 404 Not Found' + CRLF + 'Connection: close' + CRLF + CRLF);
  const accept = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Accept: ' + accept, '', ''].join(CRLF));
  console.log('WS /ws');
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 2) {
      const opcode = pending[0] & 0x0f;
      let length = pending[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (pending.length < 4) return;
        length = pending.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) return socket.destroy(); // over 64 KiB: not for a test app
      const mask = (pending[1] & 0x80) !== 0 ? pending.subarray(offset, offset + 4) : null;
      if (mask) offset += 4;
      if (pending.length < offset + length) return;
      const payload = Buffer.from(pending.subarray(offset, offset + length));
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
      pending = pending.subarray(offset + length);
      if (opcode === 0x8) return socket.end(wsFrame(0x8, payload.subarray(0, 2)));
      if (opcode === 0x9) socket.write(wsFrame(0xa, payload));
      else if (opcode === 0x1 || opcode === 0x2) socket.write(wsFrame(opcode, payload));
    }
  });
});
server.listen(port, '0.0.0.0', () => console.log('listening on ' + port));
console.error('test app starting');
if (Number(env.CRASH_AFTER_SECONDS) > 0) setTimeout(() => process.exit(1), Number(env.CRASH_AFTER_SECONDS) * 1000);
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
`;

/** Bump to rebuild every test image after a change to how they are built. */
const RECIPE = '1';
const HASH_LABEL = 'agentpod.test.hash';

const execFileAsync = promisify(execFile);
async function run(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  try {
    const { stdout } = await execFileAsync(file, args, { maxBuffer: 64 << 20, ...(env ? { env } : {}) });
    return stdout;
  } catch (error) {
    const e = error as Error & { stderr?: string };
    throw new Error(`${file} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`, { cause: error });
  }
}

/** Debian's busybox-static, installed when missing and we may (root); otherwise a clear instruction. */
async function staticBusybox(): Promise<string> {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax, not a template
  const status = await run('dpkg-query', ['-W', '-f=${Status}', 'busybox-static']).catch(() => '');
  if (!status.includes('install ok installed')) {
    if (process.getuid?.() !== 0)
      throw new Error('the Docker test images need busybox-static: run `sudo apt-get install busybox-static`');
    const install = ['install', '-y', '--no-remove', 'busybox-static'];
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    // --no-remove: if it would replace the dynamic busybox package (they conflict), fail rather than swap it.
    await run('apt-get', install, env).catch(async () => {
      await run('apt-get', ['update'], env);
      await run('apt-get', install, env);
    });
  }
  const files = (await run('dpkg-query', ['-L', 'busybox-static'])).split('\n');
  const binary = files.find((file) => /\/s?bin\/busybox$/.test(file));
  if (!binary) throw new Error('busybox-static is installed but its /bin/busybox is missing');
  return binary;
}

type Recipe = { tag: string; hash: string; changes: string[]; build(root: string): Promise<void> };

function sha256(...parts: (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex').slice(0, 32);
}

async function copyInto(root: string, source: string, target = source, mode = 0o755): Promise<void> {
  const destination = join(root, target);
  await mkdir(dirname(destination), { recursive: true });
  await copyFile(source, destination); // follows symlinks: the image gets the real file
  await chmod(destination, mode);
}

async function baseRoot(root: string, busybox: string, applets: string[]): Promise<void> {
  for (const dir of ['bin', 'etc', 'root', 'data']) await mkdir(join(root, dir), { recursive: true });
  await mkdir(join(root, 'tmp'), { recursive: true, mode: 0o1777 });
  await chmod(join(root, 'tmp'), 0o1777);
  await copyInto(root, busybox, '/bin/busybox');
  for (const applet of applets) if (applet !== 'busybox') await symlink('busybox', join(root, 'bin', applet));
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n');
  await writeFile(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
}

/** `ldd` output → the library files the binary loads (the loader included), by the paths it loads them from. */
function sharedLibraries(lddOutput: string): string[] {
  const paths = lddOutput.split('\n').map((line) => /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line)?.[1]);
  return [...new Set(paths.filter((path): path is string => !!path))];
}

async function recipes(): Promise<Recipe[]> {
  const busybox = await staticBusybox();
  const busyboxBytes = await readFile(busybox);
  const applets = (await run(busybox, ['--list'])).split('\n').filter((name) => /^[a-z0-9_.[-]+$/.test(name));
  const busyboxHash = sha256(RECIPE, busyboxBytes, applets.join(' '));
  const node = process.execPath;
  const nodeStat = await stat(node);
  const ldd = await run('ldd', [node]);
  const libraries = sharedLibraries(ldd);
  return [
    {
      tag: TEST_IMAGES.busybox,
      hash: busyboxHash,
      changes: ['ENV PATH=/bin', 'CMD ["/bin/sh"]'],
      build: (root) => baseRoot(root, busybox, applets),
    },
    {
      tag: TEST_IMAGES.node,
      // The node binary is identified by its path, size, mtime and version rather than hashed (it is ~100 MB).
      hash: sha256(
        busyboxHash,
        node,
        String(nodeStat.size),
        String(nodeStat.mtimeMs),
        process.version,
        libraries.join(' '), // not ldd's raw output: its load addresses change on every run
        TEST_APP_SOURCE,
      ),
      changes: [
        'ENV PATH=/usr/local/bin:/bin',
        `EXPOSE ${TEST_APP_PORT}`,
        'CMD ["/usr/local/bin/node", "/app/server.js"]',
      ],
      async build(root) {
        await baseRoot(root, busybox, applets);
        await copyInto(root, node, '/usr/local/bin/node');
        for (const library of libraries) await copyInto(root, library);
        await mkdir(join(root, 'app'));
        await writeFile(join(root, 'app/server.js'), TEST_APP_SOURCE);
      },
    },
  ];
}

async function currentHash(tag: string): Promise<string | null> {
  const format = `{{ index .Config.Labels "${HASH_LABEL}" }}`;
  return run('docker', ['image', 'inspect', '--format', format, tag]).then(
    (out) => out.trim(),
    () => null,
  );
}

async function build(recipe: Recipe): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'agentpod-image-'));
  try {
    const root = join(dir, 'root');
    await mkdir(root);
    await recipe.build(root);
    const tar = join(dir, 'rootfs.tar');
    await run('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', tar, '.']);
    const changes = [...recipe.changes, `LABEL ${HASH_LABEL}=${recipe.hash}`].flatMap((change) => ['--change', change]);
    const previous = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', recipe.tag]).catch(() => '');
    await run('docker', ['import', ...changes, tar, recipe.tag]);
    // The stale image lost its tag; remove it unless a container still uses it (then Docker refuses, and it stays).
    if (previous.trim()) await run('docker', ['image', 'rm', previous.trim()]).catch(() => undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A lock across processes (test files run in parallel): a directory only one can create, freed if its owner died. */
async function withLock<T>(work: () => Promise<T>): Promise<T> {
  const lock = join(tmpdir(), 'agentpod-test-images.lock');
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => ''));
      const age =
        Date.now() -
        (await stat(lock).then(
          (s) => s.mtimeMs,
          () => Date.now(),
        ));
      if ((owner && !isAlive(owner)) || (!owner && age > 30_000)) await rm(lock, { recursive: true, force: true });
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let ensured: Promise<TestImages> | undefined;

/** Builds the test images that are missing or stale (once per process) and returns their tags. */
export function ensureTestImages(): Promise<TestImages> {
  ensured ??= (async () => {
    const all = await recipes();
    const stale = async () => {
      const hashes = await Promise.all(all.map((recipe) => currentHash(recipe.tag)));
      return all.filter((recipe, i) => hashes[i] !== recipe.hash);
    };
    if ((await stale()).length > 0)
      await withLock(async () => {
        for (const recipe of await stale()) await build(recipe); // re-checked: another process may have built it
      });
    return TEST_IMAGES;
  })().catch((error) => {
    ensured = undefined;
    throw error;
  });
  return ensured;
}
