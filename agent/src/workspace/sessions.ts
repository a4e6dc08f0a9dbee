import { SESSION_KEEPALIVE_SECONDS } from '@agentpod/contracts';
import type { Logger } from '@agentpod/kit';

/** Why a session ends from the outside: asked to (`close`), silent too long, or its socket dropped. */
export type EndReason = 'closed' | 'expired' | 'dropped';

export type SessionKind = 'terminal' | 'download' | 'upload';

/** A workspace session: it reads what arrives on `session.<id>.in` and ends when told. */
export interface WorkspaceSession {
  readonly kind: SessionKind;
  /** One message from `….in` (JSON text, not yet validated). */
  input(data: string): void;
  /** Ends the session; it removes itself from the registry once its resources are released. */
  end(reason: EndReason): void;
}

type Entry = { session: WorkspaceSession; heard: number };

/**
 * The open terminal and file sessions by id. Every message on a session (a keepalive included) proves someone
 * still listens; a session silent for 3 × SESSION_KEEPALIVE_SECONDS ends, and so does every session when the
 * agent's socket drops (nobody can reach them any more: their processes are killed, their temporary files
 * removed).
 */
export class SessionRegistry {
  private readonly entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private readonly keepaliveMs: number;
  private readonly now: () => number;

  constructor(private readonly deps: { logger: Logger; keepaliveMs?: number; now?: () => number }) {
    this.keepaliveMs = deps.keepaliveMs ?? SESSION_KEEPALIVE_SECONDS * 1000;
    this.now = deps.now ?? Date.now;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  get(id: string): WorkspaceSession | undefined {
    return this.entries.get(id)?.session;
  }

  count(kind: SessionKind): number {
    let count = 0;
    for (const { session } of this.entries.values()) if (session.kind === kind) count += 1;
    return count;
  }

  get size(): number {
    return this.entries.size;
  }

  add(id: string, session: WorkspaceSession): void {
    this.entries.set(id, { session, heard: this.now() });
    // The sweep runs only while there is something to sweep, so an idle agent keeps no timer.
    this.timer ??= setInterval(() => this.sweep(), Math.max(this.keepaliveMs, 10));
    this.timer.unref();
  }

  /** A session forgets itself once it is over (idempotent: only the same session is removed). */
  remove(id: string, session: WorkspaceSession): void {
    if (this.entries.get(id)?.session !== session) return;
    this.entries.delete(id);
    if (this.entries.size === 0) this.stopTimer();
  }

  /** Delivers a `session` frame; false when no workspace session has that id (it may be a log session). */
  deliver(id: string, data: string): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    entry.heard = this.now();
    entry.session.input(data);
    return true;
  }

  /** Ends the sessions nobody has spoken to for 3 keepalive periods. */
  sweep(): void {
    const limit = this.now() - 3 * this.keepaliveMs;
    for (const [id, entry] of this.entries)
      if (entry.heard < limit) {
        this.deps.logger.info(
          { sessionId: id, kind: entry.session.kind },
          'a workspace session went silent; ending it',
        );
        entry.session.end('expired');
      }
  }

  /** The socket dropped, or the agent stops: every session ends. */
  closeAll(reason: EndReason = 'dropped'): void {
    for (const entry of [...this.entries.values()]) entry.session.end(reason);
  }

  stop(): void {
    this.closeAll('closed');
    this.stopTimer();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
