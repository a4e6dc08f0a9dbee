/*
 * Credit flow control, shared by terminals and downloads: the sender counts what it sent, the receiver
 * acknowledges cumulative bytes consumed, and the sender stops producing while more than a window is
 * unacknowledged. Nothing in the chain then holds more than one window, however slow the reader.
 */

/** Bytes sent and acknowledged; `open` while no more than `window` bytes wait for an acknowledgement. */
export class CreditWindow {
  private sentBytes = 0;
  private ackedBytes = 0;

  constructor(readonly window: number) {}

  get sent(): number {
    return this.sentBytes;
  }

  get acked(): number {
    return this.ackedBytes;
  }

  get unacked(): number {
    return this.sentBytes - this.ackedBytes;
  }

  get open(): boolean {
    return this.unacked <= this.window;
  }

  onSent(bytes: number): void {
    this.sentBytes += bytes;
  }

  /**
   * A cumulative acknowledgement. An older one (reordered) changes nothing; one beyond what was sent is
   * capped, so a client cannot buy credit for output that does not exist yet.
   */
  onAck(bytes: number): void {
    if (!Number.isFinite(bytes)) return;
    this.ackedBytes = Math.max(this.ackedBytes, Math.min(bytes, this.sentBytes));
  }
}

/** Something that can stop producing for a while: a pty, a stream. */
export type Pausable = { pause(): void; resume(): void };

/**
 * Pauses its source while any reason holds (`credit`: the window is full; `socket`: the agent's socket is
 * backed up), resumes it when none does. Pauses and resumes once per change, not per reason.
 */
export class PauseGate {
  private readonly reasons = new Set<string>();

  constructor(private readonly source: Pausable) {}

  get paused(): boolean {
    return this.reasons.size > 0;
  }

  hold(reason: string): void {
    if (this.reasons.has(reason)) return;
    this.reasons.add(reason);
    if (this.reasons.size === 1) this.source.pause();
  }

  release(reason: string): void {
    if (!this.reasons.delete(reason)) return;
    if (this.reasons.size === 0) this.source.resume();
  }

  /** Lets the source run whatever held it (the session is ending and its output is being drained). */
  releaseAll(): void {
    if (this.reasons.size === 0) return;
    this.reasons.clear();
    this.source.resume();
  }
}

/** `bytes` cut into pieces of at most `size` (views, no copy). */
export function* pieces(bytes: Buffer, size: number): Generator<Buffer> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}
