import { AgentFrame, agentEvents, type GatewayFrame, MAX_AGENT_FRAME_BYTES } from '@agentpod/contracts';

/** A frame that passed every check, or why it is dropped. */
export type ParsedFrame = { ok: true; frame: AgentFrame } | { ok: false; reason: string };

const bad = (reason: string): ParsedFrame => ({ ok: false, reason });

/** The bytes of a `ws` message, whichever binary type the socket was given. */
function bytesOf(data: unknown): Buffer | undefined {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (Array.isArray(data) && data.every((part) => Buffer.isBuffer(part))) return Buffer.concat(data);
  return undefined;
}

/**
 * Checks one message from an agent: a JSON text frame of at most MAX_AGENT_FRAME_BYTES that matches AgentFrame;
 * an `obs` frame's data must match the schema of the event it names, since it is stored as that event.
 */
export function parseAgentFrame(data: unknown, isBinary: boolean): ParsedFrame {
  if (isBinary) return bad('binary frame (frames are JSON text)');
  const bytes = bytesOf(data);
  if (!bytes) return bad('unreadable frame');
  if (bytes.length > MAX_AGENT_FRAME_BYTES)
    return bad(`frame of ${bytes.length} bytes (limit ${MAX_AGENT_FRAME_BYTES})`);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    return bad('frame is not JSON');
  }
  const parsed = AgentFrame.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return bad(
      `frame does not match AgentFrame (${issue ? `${issue.path.join('.') || 'frame'}: ${issue.message}` : '?'})`,
    );
  }
  const frame = parsed.data;
  if (frame.t === 'obs') {
    const observation = agentEvents[frame.type].safeParse(frame.data);
    if (!observation.success) return bad(`obs data does not match ${frame.type}`);
    return { ok: true, frame: { ...frame, data: observation.data } };
  }
  return { ok: true, frame };
}

export const encodeFrame = (frame: GatewayFrame): string => JSON.stringify(frame);
