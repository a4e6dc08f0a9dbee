import { type AgentFrame, FILE_CHUNK_BYTES, type FileEntry, type FileStreamMessage } from '@agentpod/contracts';
import { createLogger } from '@agentpod/kit';
import type { ContainerRuntime } from '../../runtime/index.ts';
import { createWorkspace, type Workspace, type WorkspaceOptions } from '../index.ts';

/*
 * The workspace as the agent builds it, with its frames captured instead of sent on a socket, and helpers that
 * play the control plane's side of a transfer: the same handlers, sessions and messages as in production.
 */

type Pub = { session: string; message: Record<string, unknown>; durable: boolean };

const noContainers: Pick<ContainerRuntime, 'inspect' | 'owns'> = {
  inspect: async () => null,
  owns: () => false,
};

export type Harness = {
  workspace: Workspace;
  pubs: Pub[];
  /** The messages published on one session so far. */
  messages(session: string): Record<string, unknown>[];
  /** Waits until a message on `session` matches. */
  waitFor(session: string, match: (message: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  say(session: string, message: unknown): void;
  /** Uploads `bytes` through fileUpload's session (acknowledged chunks); the `done` entry, or throws the error. */
  upload(input: Record<string, unknown>, bytes: Buffer): Promise<FileEntry>;
  /** Downloads through fileDownload's session, acknowledging as it goes. */
  download(input: Record<string, unknown>): Promise<{ entry: FileEntry; bytes: Buffer }>;
};

let counter = 0;
export const sessionId = (what: string) => `${what}-${process.pid}-${++counter}-xxxxxxxx`;

export function workspaceHarness(
  options: WorkspaceOptions & { runtime?: Pick<ContainerRuntime, 'inspect' | 'owns'> } = {},
): Harness {
  const pubs: Pub[] = [];
  const waiters = new Set<() => void>();
  const workspace = createWorkspace({
    runtime: noContainers,
    ...options,
    send: (frame: AgentFrame, durable) => {
      if (frame.t !== 'pub') return;
      pubs.push({ session: frame.session, message: JSON.parse(frame.data), durable });
      for (const waiter of [...waiters]) waiter();
    },
    writable: async () => true,
    logger: createLogger('workspace-test', 'silent'),
  });
  const messages = (session: string) => pubs.filter((pub) => pub.session === session).map((pub) => pub.message);
  const waitFor: Harness['waitFor'] = (session, match) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no matching message on ${session}: ${JSON.stringify(messages(session).slice(-3))}`));
      }, 60_000);
      const check = () => {
        const found = messages(session).find(match);
        if (!found) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(found);
      };
      waiters.add(check);
      check();
    });
  const say = (session: string, message: unknown) => workspace.sessions.deliver(session, JSON.stringify(message));
  const failed = (message: Record<string, unknown>) => {
    const error = message.error as { code: string; message: string };
    return Object.assign(new Error(error.message), { code: error.code });
  };

  return {
    workspace,
    pubs,
    messages,
    waitFor,
    say,
    async upload(input, bytes) {
      const id = sessionId('up');
      await workspace.handlers.fileUpload({ overwrite: true, ...input, sessionId: id } as never);
      let offset = 0;
      while (offset < bytes.length) {
        const chunk = bytes.subarray(offset, offset + FILE_CHUNK_BYTES);
        say(id, { t: 'data', data: chunk.toString('base64') } satisfies FileStreamMessage);
        offset += chunk.length;
        // Stay within the window: wait for this chunk's acknowledgement before the next (simple and enough).
        await waitFor(id, (m) => (m.t === 'ack' && (m.bytes as number) >= offset) || m.t === 'error');
        const error = messages(id).find((m) => m.t === 'error');
        if (error) throw failed(error);
      }
      say(id, { t: 'end' });
      const last = await waitFor(id, (m) => m.t === 'done' || m.t === 'error');
      if (last.t === 'error') throw failed(last);
      return last.entry as FileEntry;
    },
    async download(input) {
      const id = sessionId('down');
      const entry = await workspace.handlers.fileDownload({ ...input, sessionId: id } as never);
      const chunks: Buffer[] = [];
      let received = 0;
      let seen = 0;
      for (;;) {
        await waitFor(id, () => messages(id).length > seen);
        const next = messages(id)[seen++] as Record<string, unknown>;
        if (next.t === 'data') {
          const chunk = Buffer.from(next.data as string, 'base64');
          chunks.push(chunk);
          received += chunk.length;
          say(id, { t: 'ack', bytes: received });
        } else if (next.t === 'end') return { entry, bytes: Buffer.concat(chunks) };
        else if (next.t === 'error') throw failed(next);
      }
    },
  };
}
