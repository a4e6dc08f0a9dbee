import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { GatewayFrame } from '@agentpod/contracts';

/*
 * A stand-in agent for the relay's tests: a real WebSocket client (Node's own) that speaks the frames, and a raw
 * HTTP upgrade request to see what the gateway answers before it upgrades. Not part of the gateway.
 */

export type Closed = { code: number; reason: string };

export class FakeAgent {
  readonly #socket: WebSocket;
  readonly #frames: GatewayFrame[] = [];
  #waiter: (() => void) | undefined;
  readonly closed: Promise<Closed>;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.addEventListener('message', (event) => {
      this.#frames.push(GatewayFrame.parse(JSON.parse(String(event.data))));
      this.#waiter?.();
    });
    this.closed = new Promise((resolve) => {
      socket.addEventListener('close', (event) => {
        resolve({ code: event.code, reason: event.reason });
        this.#waiter?.();
      });
    });
  }

  /** Opens the socket with this credential; rejects when the gateway refuses the upgrade. */
  static connect(url: string, credential: string): Promise<FakeAgent> {
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${credential}` } });
    const agent = new FakeAgent(socket);
    return new Promise((resolve, reject) => {
      socket.addEventListener('open', () => resolve(agent), { once: true });
      socket.addEventListener('error', () => reject(new Error('the agent socket was refused')), { once: true });
    });
  }

  get open(): boolean {
    return this.#socket.readyState === WebSocket.OPEN;
  }

  /** Sends a frame (an object, as JSON) or raw text or bytes. */
  send(frame: object | string | Uint8Array): void {
    this.#socket.send(typeof frame === 'string' || frame instanceof Uint8Array ? frame : JSON.stringify(frame));
  }

  /** The next frame received (oldest first) that matches; fails when the socket closes first. */
  async next<T extends GatewayFrame['t']>(type: T): Promise<Extract<GatewayFrame, { t: T }>> {
    for (;;) {
      const index = this.#frames.findIndex((frame) => frame.t === type);
      if (index >= 0) return this.#frames.splice(index, 1)[0] as Extract<GatewayFrame, { t: T }>;
      if (this.#socket.readyState >= WebSocket.CLOSING) throw new Error(`socket closed before a ${type} frame`);
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
      });
    }
  }

  /** Every frame received and not yet taken. */
  received(): GatewayFrame[] {
    return [...this.#frames];
  }

  close(): Promise<Closed> {
    this.#socket.close(1000);
    return this.closed;
  }
}

/** What the gateway answers a WebSocket upgrade of `url` with these headers: 101, or an HTTP error and its body. */
export function tryUpgrade(url: string, headers: Record<string, string>): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url.replace(/^ws/, 'http'), {
      agent: false,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    request.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve({ status: response.statusCode ?? 0, body: undefined });
    });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
      });
    });
    request.on('error', reject);
    request.end();
  });
}
