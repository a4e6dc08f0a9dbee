import { type AgentFrame, GatewayFrame, MAX_AGENT_FRAME_BYTES } from '@agentpod/contracts';

/* The agent's side of the socket's framing: JSON text frames, checked against the contracts both ways. */

export type Decoded = { ok: true; frame: GatewayFrame } | { ok: false; reason: string };

/** One frame from the gateway; anything else is a reason to drop it (never to throw). */
export function decodeGatewayFrame(data: Buffer | string, isBinary = false): Decoded {
  if (isBinary) return { ok: false, reason: 'binary frame' };
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (size > MAX_AGENT_FRAME_BYTES) return { ok: false, reason: `frame of ${size} bytes is over the limit` };
  let json: unknown;
  try {
    json = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const frame = GatewayFrame.safeParse(json);
  if (!frame.success) {
    const type = typeof json === 'object' && json !== null && 't' in json ? String(json.t).slice(0, 32) : '?';
    return { ok: false, reason: `not a gateway frame (t=${type}): ${frame.error.issues[0]?.message ?? 'invalid'}` };
  }
  return { ok: true, frame: frame.data };
}

/** The JSON text of a frame, or undefined when it is too big for the gateway to accept. */
export function encodeAgentFrame(frame: AgentFrame): string | undefined {
  const text = JSON.stringify(frame);
  return Buffer.byteLength(text) > MAX_AGENT_FRAME_BYTES ? undefined : text;
}

/** The gateway's WebSocket URL for a gateway base URL: ws on http, wss on https. */
export function agentSocketUrl(gatewayUrl: string): string {
  const url = new URL('/agent', gatewayUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}
