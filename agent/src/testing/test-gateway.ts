import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AgentFrame,
  BOOTSTRAP_HEADER,
  type GatewayFrame,
  MAX_AGENT_FRAME_BYTES,
  newId,
  type Reply,
  systemActor,
} from '@agentpod/contracts';
import { WebSocketServer, type WsSocket } from '../connection/ws.ts';

/*
 * The gateway's side of the agent protocol, as a real peer for the agent's tests: an HTTP server with the agent
 * socket (`GET /agent`, Bearer credential checked before the upgrade, 401 otherwise), the join and local-node
 * routes, and helpers to send `req`/`session` frames and wait for what the agent sends. Every frame from the
 * agent is checked against the contract's AgentFrame schema; anything else lands in `violations`.
 */

export type TestGateway = {
  url: string;
  nodeId: string;
  /** Every frame the agent sent, over all its connections, in order. */
  frames: AgentFrame[];
  /** Frames that did not match AgentFrame (the test expects none). */
  violations: string[];
  /** Upgrades accepted so far. */
  connections: number;
  /** Upgrades answered 401. */
  refusals: number;
  /** Credentials the socket accepts; add or delete to re-key the node. */
  credentials: Set<string>;
  /** The bootstrap secret `POST /api/v1/admin/local-node` wants. */
  bootstrapSecret: string;
  /** A join token for `POST /api/v1/agent/join`, valid once; its credential is added to `credentials`. */
  issueJoinToken(): string;
  /** The first frame at index ≥ `from` that matches, waiting for it if it has not come yet. */
  waitFor<T extends AgentFrame>(
    match: (frame: AgentFrame) => frame is T,
    from?: number,
    timeoutMs?: number,
  ): Promise<T>;
  /** A request on the open socket, as the gateway relays one from NATS; resolves with the agent's parsed reply. */
  request(op: string, data: unknown, timeoutMs?: number): Promise<Reply>;
  send(frame: GatewayFrame): void;
  /** Any text, as a broken or hostile gateway might send. */
  sendRaw(text: string): void;
  /** Closes the agent's socket from the server side (the agent should dial again). */
  dropSocket(code?: number): void;
  close(): Promise<void>;
};

export const isFrame =
  <K extends AgentFrame['t']>(t: K) =>
  (frame: AgentFrame): frame is Extract<AgentFrame, { t: K }> =>
    frame.t === t;

const readBody = async (request: IncomingMessage): Promise<unknown> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
};

const sendJson = (response: ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

/** `publicUrl`: what the join route says the control plane's URL is (AGENTPOD_PUBLIC_URL); the default is its own. */
export async function startTestGateway(
  options: { nodeId?: string; port?: number; publicUrl?: string } = {},
): Promise<TestGateway> {
  const nodeId = options.nodeId ?? `nod_${randomBytes(12).toString('hex')}`;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_AGENT_FRAME_BYTES, perMessageDeflate: false });
  const joinTokens = new Set<string>();
  const waiters = new Set<() => void>();
  let socket: WsSocket | undefined;
  const frames: AgentFrame[] = [];

  function waitFor<T extends AgentFrame>(
    match: (frame: AgentFrame) => frame is T,
    from = 0,
    timeoutMs = 30_000,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        const found = frames.slice(from).find(match);
        if (found) {
          cleanup();
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching frame from the agent within ${timeoutMs} ms (${frames.length} frames so far)`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  }

  const gateway: TestGateway = {
    url: '',
    nodeId,
    frames,
    violations: [],
    connections: 0,
    refusals: 0,
    credentials: new Set(),
    bootstrapSecret: randomBytes(16).toString('hex'),
    issueJoinToken() {
      const token = `apj_${randomBytes(24).toString('hex')}`;
      joinTokens.add(token);
      return token;
    },
    waitFor,
    async request(op, data, timeoutMs = 60_000) {
      const id = newId();
      const from = gateway.frames.length;
      const body = JSON.stringify({ meta: { actor: systemActor('reconciler'), correlationId: id }, data });
      gateway.send({ t: 'req', id, op, body });
      const res = await gateway.waitFor(
        (frame): frame is Extract<AgentFrame, { t: 'res' }> => frame.t === 'res' && frame.id === id,
        from,
        timeoutMs,
      );
      return JSON.parse(res.reply) as Reply;
    },
    send(frame) {
      if (!socket) throw new Error('the agent is not connected');
      socket.send(JSON.stringify(frame));
    },
    sendRaw(text) {
      if (!socket) throw new Error('the agent is not connected');
      socket.send(text);
    },
    dropSocket(code = 1012) {
      socket?.close(code, 'test gateway restarting');
    },
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const server = createServer((request, response) => {
    void (async () => {
      const path = new URL(request.url ?? '/', 'http://gateway').pathname;
      if (request.method === 'GET' && path === '/healthz') return sendJson(response, 200, { status: 'ok' });
      if (request.method === 'POST' && path === '/api/v1/agent/join') {
        const { token } = (await readBody(request)) as { token?: string };
        if (!token || !joinTokens.delete(token))
          return sendJson(response, 401, { error: { code: 'unauthenticated', message: 'unknown or used join token' } });
        const credential = `apn_${randomBytes(24).toString('hex')}`;
        gateway.credentials.add(credential);
        return sendJson(response, 200, { nodeId, credential, gatewayUrl: options.publicUrl ?? gateway.url });
      }
      if (request.method === 'POST' && path === '/api/v1/admin/local-node') {
        if (request.headers[BOOTSTRAP_HEADER] !== gateway.bootstrapSecret)
          return sendJson(response, 401, { error: { code: 'unauthenticated', message: 'wrong bootstrap secret' } });
        return sendJson(response, 200, { joinToken: gateway.issueJoinToken() });
      }
      sendJson(response, 404, { error: { code: 'not_found', message: `no route ${path}` } });
    })().catch((error: Error) => sendJson(response, 500, { error: { code: 'internal', message: error.message } }));
  });

  server.on('upgrade', (request, raw, head) => {
    const path = new URL(request.url ?? '/', 'http://gateway').pathname;
    const bearer = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (path !== '/agent' || !bearer || !gateway.credentials.has(bearer)) {
      gateway.refusals += 1;
      raw.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, raw, head, (ws) => {
      gateway.connections += 1;
      // A second socket for the node replaces the first, as the real gateway does.
      socket?.close(1000, 'replaced by a newer connection');
      socket = ws;
      ws.on('message', (data, isBinary) => {
        let frame: ReturnType<typeof AgentFrame.safeParse>;
        try {
          frame = AgentFrame.safeParse(isBinary ? undefined : JSON.parse(data.toString('utf8')));
        } catch {
          frame = AgentFrame.safeParse(undefined);
        }
        if (!frame.success) {
          gateway.violations.push(`${data.toString('utf8').slice(0, 200)}: ${frame.error.message}`);
          return;
        }
        gateway.frames.push(frame.data);
        for (const waiter of [...waiters]) waiter();
      });
      ws.on('close', () => {
        if (socket === ws) socket = undefined;
      });
    });
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  gateway.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return gateway;
}
