import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach } from 'node:test';
import { fileURLToPath } from 'node:url';

/*
 * Test support for the CLI: a real HTTP server standing in for the gateway (answering only the routes a test
 * registers, recording every request), and a runner that starts the CLI from its sources as a child process.
 */

export type RecordedRequest = {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  /** A JSON body, parsed; undefined for none or another content type. */
  body: unknown;
  /** The body's bytes as sent (uploads). */
  raw: Buffer;
};

/** Takes over a WebSocket upgrade (see fake-terminal.ts). */
export type UpgradeHandler = (request: IncomingMessage, socket: Socket, head: Buffer) => void;

export type Handler = (
  request: RecordedRequest,
  response: ServerResponse,
) => undefined | { status: number; body?: unknown; headers?: Record<string, string | string[]> };

export type FakeGateway = {
  url: string;
  requests: RecordedRequest[];
  /** Answers `METHOD /path` (exact path, query ignored) with the handler's result. */
  on(route: string, handler: Handler): void;
  /** Answers an upgrade request of `path` (exact path, query ignored); others get a 404. */
  onUpgrade(path: string, handler: UpgradeHandler): void;
  reset(): void;
  close(): Promise<void>;
};

export async function startFakeGateway(): Promise<FakeGateway> {
  const handlers = new Map<string, Handler>();
  const upgrades = new Map<string, UpgradeHandler>();
  const requests: RecordedRequest[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const text = raw.toString('utf8');
    const json = text !== '' && (req.headers['content-type'] ?? 'application/json').startsWith('application/json');
    const url = new URL(req.url ?? '/', 'http://fake');
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: json ? JSON.parse(text) : undefined,
      raw,
    };
    requests.push(recorded);
    const handler = handlers.get(`${recorded.method} ${recorded.path}`);
    if (!handler) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: { code: 'not_found', message: `no route ${recorded.method} ${recorded.path}` } }),
      );
      return;
    }
    const answer = handler(recorded, res);
    if (!answer) return; // the handler writes the response itself (streams)
    res.writeHead(answer.status, {
      ...(answer.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...answer.headers,
    });
    res.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push({
      method: 'UPGRADE',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: undefined,
      raw: Buffer.alloc(0),
    });
    const handler = upgrades.get(url.pathname);
    if (handler) return handler(req, socket, head);
    const body = JSON.stringify({ error: { code: 'not_found', message: `no socket ${url.pathname}` } });
    socket.end(
      `HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    on: (route, handler) => handlers.set(route, handler),
    onUpgrade: (path, handler) => upgrades.set(path, handler),
    reset() {
      handlers.clear();
      upgrades.clear();
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

export type CliResult = { code: number | null; stdout: string; stderr: string };

export type RunOptions = {
  env: Record<string, string>;
  stdin?: string;
  /** Called with stdout as it grows; for tests that act while a stream is open. */
  onStdout?: (soFar: string) => void;
  /** Sends SIGINT (Ctrl-C) once stdout satisfies this. */
  interruptWhen?: (soFar: string) => boolean;
};

/**
 * Runs `agentpod <args>` from the sources, as the real binary would run, with only the given environment (plus
 * PATH): nothing from the developer's own AGENTPOD_* variables or credentials leaks in.
 */
export function runCli(args: readonly string[], options: RunOptions): Promise<CliResult> {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', MAIN, ...args], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    options.onStdout?.(stdout);
    if (options.interruptWhen?.(stdout)) child.kill('SIGINT');
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin.end(options.stdin ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export type FakeGatewaySuite = {
  /** The stand-in gateway of the running describe block. */
  readonly gateway: FakeGateway;
  /** What the CLI runs with: an empty HOME of its own, the gateway's URL and an API token. */
  readonly env: Record<string, string>;
  /** Runs `agentpod <args>` with `env`. */
  cli: (...args: string[]) => Promise<CliResult>;
};

/**
 * For a describe block of CLI tests: starts a stand-in gateway and an empty HOME before its tests, resets the
 * gateway's routes before each test, and removes both after them.
 */
export function useFakeGateway(): FakeGatewaySuite {
  let gateway: FakeGateway | undefined;
  let home: string | undefined;
  let env: Record<string, string> = {};
  before(async () => {
    gateway = await startFakeGateway();
    home = await mkdtemp(join(tmpdir(), 'agentpod-cli-'));
    env = { HOME: home, AGENTPOD_URL: gateway.url, AGENTPOD_TOKEN: 'apt_test' };
  });
  after(async () => {
    await gateway?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });
  beforeEach(() => gateway?.reset());
  return {
    get gateway() {
      if (!gateway) throw new Error('the stand-in gateway is used outside its describe block');
      return gateway;
    },
    get env() {
      return env;
    },
    cli: (...args) => runCli(args, { env }),
  };
}
