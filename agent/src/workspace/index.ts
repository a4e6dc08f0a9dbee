import type { AgentFrame } from '@agentpod/contracts';
import type { Logger } from '@agentpod/kit';
import type Docker from 'dockerode';
import type { OpHandlers } from '../requests/ops.ts';
import type { ContainerRuntime } from '../runtime/index.ts';
import { createScopes, dockerVolumes, type VolumeMounts } from './file-scopes.ts';
import { createTransferOps } from './file-transfers.ts';
import { createFileOps } from './files.ts';
import { hostTerminator, type Terminator } from './process-tree.ts';
import { SessionRegistry } from './sessions.ts';
import { createTerminalOps } from './terminal-ops.ts';

export type WorkspaceOp =
  | 'terminalOpen'
  | 'fileList'
  | 'fileStat'
  | 'fileDownload'
  | 'fileUpload'
  | 'fileMkdir'
  | 'fileMove'
  | 'fileDelete'
  | 'fileChmod';
export type WorkspaceHandlers = Pick<OpHandlers, WorkspaceOp>;

/** The agent's workspace settings (env.ts) and, for tests, its clocks. */
export type WorkspaceOptions = {
  /** Container terminals and pod volumes go through it; without it they are `unavailable`. */
  docker?: Docker;
  /** AGENTPOD_FILE_ROOTS: the host directories the node's files may be reached in (none: host files closed). */
  fileRoots?: readonly string[];
  /** AGENTPOD_FILE_MAX_UPLOAD_BYTES (default 1 GiB). */
  maxUploadBytes?: number;
  /** AGENTPOD_FILE_MAX_LIST_ENTRIES (default 10,000). */
  maxListEntries?: number;
  /** AGENTPOD_TERMINAL_MAX_SESSIONS (default 32). */
  maxTerminals?: number;
  /** The agent's $SHELL, for node shells. */
  shell?: string | undefined;
  /** SESSION_KEEPALIVE_SECONDS in ms (tests: shorter). */
  keepaliveMs?: number;
  /** SIGHUP → SIGKILL delay when a terminal closes (2 s). */
  killGraceMs?: number;
  /** Tests: a smaller credit window for terminals and downloads. */
  window?: number;
  volumes?: VolumeMounts;
  terminator?: Terminator;
};

export type WorkspaceDeps = WorkspaceOptions & {
  runtime: Pick<ContainerRuntime, 'inspect' | 'owns'>;
  send: (frame: AgentFrame, durable: boolean) => void;
  writable: () => Promise<boolean>;
  logger: Logger;
};

export type Workspace = { handlers: WorkspaceHandlers; sessions: SessionRegistry };

export const DEFAULT_MAX_UPLOAD_BYTES = 1024 ** 3;
export const DEFAULT_MAX_LIST_ENTRIES = 10_000;
export const DEFAULT_MAX_TERMINALS = 32;

/**
 * The node's workspace: terminals (node-pty on the host, `docker exec` in AgentPod's containers) and files
 * (a pod's volume, or the host's allowed roots), with the sessions that stream their bytes. Every session
 * publishes on its own `session.<id>.out` and reads `session.<id>.in` (routed here by the agent).
 */
export function createWorkspace(deps: WorkspaceDeps): Workspace {
  const { logger } = deps;
  const sessions = new SessionRegistry({ logger, ...(deps.keepaliveMs ? { keepaliveMs: deps.keepaliveMs } : {}) });
  const publish = (session: string, message: unknown, durable: boolean) =>
    deps.send({ t: 'pub', session, data: JSON.stringify(message) }, durable);
  const volumes = deps.volumes ?? (deps.docker ? dockerVolumes(deps.docker) : undefined);
  const scopes = createScopes({ volumes, roots: deps.fileRoots ?? [] });
  const window = deps.window === undefined ? {} : { window: deps.window };
  return {
    sessions,
    handlers: {
      ...createTerminalOps({
        sessions,
        runtime: deps.runtime,
        docker: deps.docker,
        publish,
        writable: deps.writable,
        terminator: deps.terminator ?? hostTerminator,
        logger,
        maxSessions: deps.maxTerminals ?? DEFAULT_MAX_TERMINALS,
        shell: deps.shell,
        ...(deps.killGraceMs === undefined ? {} : { killGraceMs: deps.killGraceMs }),
        ...window,
      }),
      ...createFileOps({ scopes, maxListEntries: deps.maxListEntries ?? DEFAULT_MAX_LIST_ENTRIES }),
      ...createTransferOps({
        scopes,
        sessions,
        publish,
        writable: deps.writable,
        logger,
        maxUploadBytes: deps.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
        ...window,
      }),
    },
  };
}

/**
 * Routes a `session` frame: to the workspace session with that id, else to the followed logs (which ignore
 * an id they do not know either: input for a session that just ended is dropped).
 */
export function routeSession(
  workspace: Pick<Workspace, 'sessions'>,
  logs: { control(sessionId: string, data: string): void },
): (sessionId: string, data: string) => void {
  return (sessionId, data) => {
    if (!workspace.sessions.deliver(sessionId, data)) logs.control(sessionId, data);
  };
}
