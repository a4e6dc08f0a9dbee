import { type AgentOpOutput, AppError, type TerminalOutput } from '@agentpod/contracts';
import type { Logger } from '@agentpod/kit';
import type Docker from 'dockerode';
import type { OpInput } from '../requests/ops.ts';
import type { ContainerRuntime } from '../runtime/index.ts';
import type { Terminator } from './process-tree.ts';
import type { SessionRegistry } from './sessions.ts';
import { startContainerProcess } from './terminal-exec.ts';
import { startHostProcess } from './terminal-host.ts';
import type { OutputSink, StartOptions, TerminalProcess } from './terminal-process.ts';
import { TerminalSession } from './terminal-session.ts';

export type TerminalOpsDeps = {
  sessions: SessionRegistry;
  runtime: Pick<ContainerRuntime, 'inspect' | 'owns'>;
  /** Runs container terminals; absent, they are unavailable (an agent without Docker, tests). */
  docker: Docker | undefined;
  publish: (sessionId: string, message: TerminalOutput, durable: boolean) => void;
  writable: () => Promise<boolean>;
  terminator: Terminator;
  logger: Logger;
  /** AGENTPOD_TERMINAL_MAX_SESSIONS. */
  maxSessions: number;
  /** The agent's $SHELL, for node shells. */
  shell: string | undefined;
  killGraceMs?: number;
  window?: number;
};

type Opened = AgentOpOutput<'terminalOpen'>;

/**
 * `terminalOpen`: checks the target (a container must be AgentPod's, or adopted, and running), starts the
 * process with the session's output sink, registers the session, and answers its pid. The same session id
 * again (a retried request) gets the same answer and starts nothing.
 */
export function createTerminalOps(deps: TerminalOpsDeps) {
  const opening = new Map<string, Promise<Opened>>();
  const opened = new Map<string, Opened>();

  const start = async (input: OpInput<'terminalOpen'>): Promise<Opened> => {
    const { sessionId, target } = input;
    if (deps.sessions.count('terminal') + opening.size >= deps.maxSessions)
      throw new AppError(
        'unavailable',
        `this node runs ${deps.maxSessions} terminal sessions already (AGENTPOD_TERMINAL_MAX_SESSIONS); close one first`,
      );
    const options: StartOptions = { command: input.command, tty: input.tty, size: input.size };
    const session = new TerminalSession(sessionId, {
      publish: (message, durable) => deps.publish(sessionId, message, durable),
      writable: deps.writable,
      terminator: deps.terminator,
      logger: deps.logger,
      ...(deps.killGraceMs === undefined ? {} : { killGraceMs: deps.killGraceMs }),
      ...(deps.window === undefined ? {} : { window: deps.window }),
      onEnded: () => {
        deps.sessions.remove(sessionId, session);
        opened.delete(sessionId);
      },
    });
    let process: TerminalProcess;
    if (target.kind === 'host') process = await startHostProcess({ ...options, shell: deps.shell }, session.output);
    else process = await startInContainer(target.containerId, options, session.output);
    session.attach(process);
    deps.sessions.add(sessionId, session);
    deps.logger.info({ sessionId, target: target.kind, pid: process.pid }, 'terminal session opened');
    return { pid: process.pid };
  };

  const startInContainer = async (containerId: string, options: StartOptions, sink: OutputSink) => {
    const found = await deps.runtime.inspect(containerId);
    if (!found) throw new AppError('not_found', `no container ${containerId} on this node`);
    if (!deps.runtime.owns(found))
      throw new AppError('forbidden', `container ${containerId} is not managed by AgentPod on this node`);
    if (found.state !== 'running') throw new AppError('conflict', `container ${found.name} is not running`);
    if (!deps.docker) throw new AppError('unavailable', 'container terminals need the Docker Engine');
    return startContainerProcess(deps.docker, found.id, options, sink);
  };

  return {
    terminalOpen: async (input: OpInput<'terminalOpen'>): Promise<Opened> => {
      const { sessionId } = input;
      const known = opened.get(sessionId) ?? (await opening.get(sessionId));
      if (known) return known;
      if (deps.sessions.has(sessionId)) throw new AppError('conflict', `session ${sessionId} is not a terminal`);
      const pending = start(input);
      opening.set(sessionId, pending);
      try {
        const answer = await pending;
        if (deps.sessions.has(sessionId)) opened.set(sessionId, answer);
        return answer;
      } finally {
        opening.delete(sessionId);
      }
    },
  };
}
