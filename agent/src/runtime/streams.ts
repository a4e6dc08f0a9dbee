import { labelsOf } from './inventory.ts';
import { type LogLine, RUNTIME_EVENT_ACTIONS, type RuntimeEvent } from './types.ts';

/*
 * Docker's byte streams as values. Pure: chunks in, lines and events out, so the framing is unit-tested
 * without an engine.
 */

/** A line longer than this is cut: one runaway write must not hold the agent's memory. */
const MAX_LINE = 64 * 1024;
const STREAMS = { 1: 'stdout', 2: 'stderr' } as const;

/**
 * Splits Docker's multiplexed log stream (8-byte frame headers: stream, 0, 0, 0, big-endian length) into lines
 * per stream, keeping partial frames and partial lines across chunks. A container created with a TTY has no
 * frames; the first bytes tell which it is, and raw output is read as stdout.
 */
export class LogDemuxer {
  private pending = Buffer.alloc(0);
  private mode: 'unknown' | 'mux' | 'raw' = 'unknown';
  private readonly partial = { stdout: '', stderr: '' };
  private readonly decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };

  constructor(private readonly timestamps = true) {}

  push(chunk: Uint8Array): LogLine[] {
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    if (this.mode === 'unknown' && this.pending.length >= 8) {
      const [kind, a, b, c] = this.pending;
      this.mode = (kind === 0 || kind === 1 || kind === 2) && a === 0 && b === 0 && c === 0 ? 'mux' : 'raw';
    }
    const lines: LogLine[] = [];
    if (this.mode === 'raw') {
      lines.push(...this.text('stdout', this.pending));
      this.pending = Buffer.alloc(0);
    }
    while (this.mode === 'mux' && this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      const kind = this.pending[0] === 2 ? 'stderr' : 'stdout';
      lines.push(...this.text(kind, this.pending.subarray(8, 8 + size)));
      this.pending = this.pending.subarray(8 + size);
    }
    return lines;
  }

  /** The unterminated rest of each stream, at the end. */
  end(): LogLine[] {
    // Fewer than 8 bytes in all cannot be a frame: raw output.
    const lines = this.mode === 'unknown' ? this.text('stdout', this.pending) : [];
    this.pending = Buffer.alloc(0);
    for (const stream of Object.values(STREAMS)) {
      const rest = this.partial[stream] + this.decoders[stream].decode();
      this.partial[stream] = '';
      if (rest) lines.push(this.line(stream, rest));
    }
    return lines;
  }

  private text(stream: LogLine['stream'], bytes: Uint8Array): LogLine[] {
    const parts = (this.partial[stream] + this.decoders[stream].decode(bytes, { stream: true })).split('\n');
    let rest = parts.pop() ?? '';
    const lines = parts.map((part) => this.line(stream, part));
    while (rest.length > MAX_LINE) {
      lines.push(this.line(stream, rest.slice(0, MAX_LINE)));
      rest = rest.slice(MAX_LINE);
    }
    this.partial[stream] = rest;
    return lines;
  }

  private line(stream: LogLine['stream'], raw: string): LogLine {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const space = this.timestamps ? text.indexOf(' ') : -1;
    if (space > 0 && /^\d{4}-\d\d-\d\dT/.test(text))
      return { stream, time: text.slice(0, space), text: text.slice(space + 1) };
    return { stream, time: '', text };
  }
}

/** Newline-delimited JSON objects from a byte stream (Docker's events and pull progress). */
export async function* jsonLines(stream: AsyncIterable<Buffer | string>): AsyncGenerator<Record<string, unknown>> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of stream) {
    buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line) yield JSON.parse(line) as Record<string, unknown>;
      newline = buffer.indexOf('\n');
    }
  }
  if (buffer.trim()) yield JSON.parse(buffer) as Record<string, unknown>;
}

type DockerEvent = {
  Type?: string;
  Action?: string;
  id?: string;
  timeNano?: number;
  time?: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
};

/** A Docker container event as a RuntimeEvent; null for any other event (exec_start, health_status, …). */
export function toRuntimeEvent(raw: Record<string, unknown>): RuntimeEvent | null {
  const event = raw as DockerEvent;
  const action = RUNTIME_EVENT_ACTIONS.find((known) => known === event.Action);
  if (event.Type !== 'container' || !action) return null;
  const attributes = event.Actor?.Attributes ?? {};
  const exitCode = Number(attributes.exitCode);
  const nanos = event.timeNano ?? (event.time ?? 0) * 1e9;
  const { labels: _, ...owner } = labelsOf(attributes);
  return {
    action,
    id: event.Actor?.ID ?? event.id ?? '',
    name: attributes.name ?? '',
    ...owner,
    exitCode: action === 'die' && Number.isInteger(exitCode) ? exitCode : null,
    signal: action === 'kill' ? (attributes.signal ?? null) : null,
    time: new Date(Math.floor(nanos / 1e6)).toISOString(),
  };
}
