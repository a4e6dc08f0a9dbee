import { agentSubjects, type FileStreamMessage, type TerminalInput } from '@agentpod/contracts';
import type { Logger } from '@agentpod/kit';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import type { z } from 'zod';
import { newSessionId } from './targets.ts';

/*
 * The gateway's end of one agent session: it subscribes to `agent.<node>.session.<id>.out` at once (before the
 * agent is asked to start anything, so nothing the agent publishes right after its answer is missed), publishes
 * on `….in`, keeps the session alive, and says `close` when the gateway side ends first.
 */

export type AgentSessionOptions<M> = {
  nc: NatsConnection;
  logger: Logger;
  nodeId: string;
  /** The schema of what the agent publishes (TerminalOutput or FileStreamMessage). */
  schema: z.ZodType<M>;
  onMessage: (message: M) => void;
  keepaliveMs: number;
};

export class AgentSession<M> {
  readonly id = newSessionId();
  readonly nodeId: string;
  readonly #nc: NatsConnection;
  readonly #logger: Logger;
  readonly #subscription: Subscription;
  readonly #keepalive: NodeJS.Timeout;
  #ended = false;
  /** When the agent was last heard on this session (ms since the epoch). */
  lastHeardAt = Date.now();

  constructor(options: AgentSessionOptions<M>) {
    this.nodeId = options.nodeId;
    this.#nc = options.nc;
    this.#logger = options.logger;
    this.#subscription = options.nc.subscribe(agentSubjects.session(this.nodeId, this.id, 'out'), {
      callback: (error, msg) => {
        if (error || this.#ended) return;
        this.lastHeardAt = Date.now();
        const parsed = options.schema.safeParse(parseJson(msg.string()));
        if (!parsed.success) {
          this.#logger.warn({ nodeId: this.nodeId }, 'dropped a malformed session message from the agent');
          return;
        }
        options.onMessage(parsed.data);
      },
    });
    this.#keepalive = setInterval(() => this.send({ t: 'keepalive' }), options.keepaliveMs);
    this.#keepalive.unref();
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Publishes on the session's `.in` subject (nothing once ended). */
  send(message: TerminalInput | FileStreamMessage): void {
    if (this.#ended) return;
    this.#nc.publish(agentSubjects.session(this.nodeId, this.id, 'in'), JSON.stringify(message));
  }

  /**
   * Tells the agent to end the session, even after `end`: a session the gateway gave up on while the agent was
   * still starting it is closed again once the agent answers (a `close` before the start is ignored there).
   */
  sendClose(): void {
    this.#nc.publish(agentSubjects.session(this.nodeId, this.id, 'in'), JSON.stringify({ t: 'close' }));
  }

  /** Stops listening; `tellAgent`: the agent has not ended the session itself, so it is told to `close`. */
  end(tellAgent: boolean): void {
    if (this.#ended) return;
    if (tellAgent) this.sendClose();
    this.#ended = true;
    clearInterval(this.#keepalive);
    this.#subscription.unsubscribe();
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
