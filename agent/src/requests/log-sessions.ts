import { type AgentFrame, AppError, type ErrorBody, type LogStreamMessage, SessionControl } from '@agentpod/contracts';
import { type Logger, toErrorBody } from '@agentpod/kit';
import type { ContainerRuntime, LogLine } from '../runtime/index.ts';
import { isLaterLogTime, logTimeSecond } from './log-time.ts';

export type LogSessionsDeps = {
  runtime: Pick<ContainerRuntime, 'logs'>;
  send: (frame: AgentFrame, durable: boolean) => void;
  /** Resolves when the socket can take more; false once it is gone. */
  writable: () => Promise<boolean>;
  logger: Logger;
  maxSessions?: number;
  now?: () => number;
};

/** Lines Docker re-reads from the end of the log to find where a follow starts (the contract's largest tail). */
const FOLLOW_TAIL = 10_000;

/**
 * Followed log sessions (`logs` with a `sessionId`): each streams `LogStreamMessage` lines as `pub` frames after
 * the lines its reply carried, until the container stops, a `close` arrives on the session, or the socket drops,
 * and then one `end`. The `end` is durable: after a drop it goes out on the next connection, so whoever follows
 * the session on the control plane hears that it is over.
 */
export class LogSessions {
  private readonly sessions = new Map<string, AbortController>();
  private readonly maxSessions: number;

  constructor(private readonly deps: LogSessionsDeps) {
    this.maxSessions = deps.maxSessions ?? 64;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Starts following; a second request for a session that runs already (a retry) changes nothing. */
  follow(session: { sessionId: string; containerId: string; after: LogLine | undefined }): void {
    if (this.sessions.has(session.sessionId)) return;
    if (this.sessions.size >= this.maxSessions)
      throw new AppError('unavailable', `the node follows ${this.sessions.size} logs already; close one first`);
    const controller = new AbortController();
    this.sessions.set(session.sessionId, controller);
    // Begin after the current turn, in which the `logs` reply (the older lines) goes out: the follower must see
    // the reply's lines before the first newer one.
    setImmediate(() => void this.stream(session, controller.signal));
  }

  /** A `session` frame from the gateway; `close` ends that session, anything else is ignored. */
  control(sessionId: string, data: string): void {
    const controller = this.sessions.get(sessionId);
    if (!controller) return;
    let parsed: ReturnType<typeof SessionControl.safeParse>;
    try {
      parsed = SessionControl.safeParse(JSON.parse(data));
    } catch {
      parsed = SessionControl.safeParse(undefined);
    }
    if (!parsed.success) {
      this.deps.logger.debug({ sessionId }, 'ignored an unknown session message');
      return;
    }
    if (parsed.data.t === 'close') controller.abort();
  }

  /** The socket dropped: every session ends. */
  closeAll(): void {
    for (const controller of this.sessions.values()) controller.abort();
  }

  private async stream(
    session: { sessionId: string; containerId: string; after: LogLine | undefined },
    signal: AbortSignal,
  ): Promise<void> {
    const { sessionId, containerId, after } = session;
    const afterTime = after?.time || undefined;
    // Docker's `since` has whole seconds: start at the second of the last line sent and skip up to that line.
    const since =
      (afterTime && logTimeSecond(afterTime)) || new Date(Math.floor((this.deps.now ?? Date.now)() / 1000) * 1000);
    let error: ErrorBody | undefined;
    try {
      const lines = this.deps.runtime.logs(containerId, { follow: true, tail: FOLLOW_TAIL, since, signal });
      for await (const line of lines) {
        if (afterTime && line.time && !isLaterLogTime(line.time, afterTime)) continue;
        if (signal.aborted || !(await this.deps.writable())) break;
        this.publish(sessionId, { t: 'line', line }, false);
      }
    } catch (caught) {
      if (!signal.aborted) {
        error = toErrorBody(caught, sessionId);
        this.deps.logger.warn({ err: caught, sessionId, containerId }, 'a followed log ended with an error');
      }
    } finally {
      this.sessions.delete(sessionId);
      this.publish(sessionId, error ? { t: 'end', error } : { t: 'end' }, true);
    }
  }

  private publish(session: string, message: LogStreamMessage, durable: boolean): void {
    this.deps.send({ t: 'pub', session, data: JSON.stringify(message) }, durable);
  }
}
