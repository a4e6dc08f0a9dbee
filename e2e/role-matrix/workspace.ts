import { posix } from 'node:path';
import {
  type AgentOp,
  type AgentOpInput,
  AgentOps,
  agentSubjects,
  type FileEntry,
  FileStreamMessage,
} from '@agentpod/contracts';
import { createLogger, handler, serveRequests } from '@agentpod/kit';
import type { NatsConnection } from '@nats-io/transport-node';
import type { z } from 'zod';
import type { Matrix } from './fixtures.ts';
import type { PodWorld } from './pods.ts';

/*
 * The file routes of a pod's volume and of a node's allowed roots. No agent runs in the matrix: a stand-in on the
 * nodes' subjects answers the file operations the way an agent does (an entry for every path, an empty listing,
 * a download of a few bytes followed by `end` on the session's `.out`, an upload acknowledged and finished with
 * `done`), so a caller the gateway and the pods service let through gets the route's success. What is checked here
 * is who gets through; the confinement of paths is the agent's, tested in agent/ and e2e/workspace.test.ts.
 *
 * The pod is acme/files on the pool node, with a volume (pods answers `podWorkspace` with it; a pod without a
 * volume has no files). The node is acme's own node, whose shell and files are for its tenant's owners and platform
 * admins (pods `nodeWorkspace`).
 */

export const FILES_POD = 'files';
/** What every download of the stand-in answers. */
const CONTENT = Buffer.from('hello from the matrix\n');

/** A download that succeeded carries the stand-in's bytes, whole (not an empty or cut-short stream). */
export function expectContent(response: { statusCode: number; rawPayload: Buffer }): void {
  if (response.statusCode === 200 && !response.rawPayload.equals(CONTENT)) {
    throw new Error(`the download did not carry the file: ${JSON.stringify(response.rawPayload.toString())}`);
  }
}

export type WorkspaceWorld = {
  /** acme/files, whose node answers for its volume; its pod id. */
  pod(): Promise<string>;
  /** acme's node, whose stand-in agent answers for its files; its id. */
  node(): Promise<string>;
};

const entryOf = (path: string, type: FileEntry['type'] = 'file', size = 0): FileEntry => ({
  name: posix.basename(path) || '/',
  path,
  type,
  size,
  mode: type === 'dir' ? '755' : '644',
  modifiedAt: new Date().toISOString(),
  version: `v${size}`,
});

/** Answers the file operations of one node, as an agent that has every path would. */
function serveFiles(nc: NatsConnection, nodeId: string): void {
  const logger = createLogger('matrix-agent-files', 'silent');
  const serve = <K extends AgentOp>(op: K, answer: (input: AgentOpInput<K>) => unknown) =>
    serveRequests({
      nc,
      subject: agentSubjects.command(nodeId, op),
      queue: 'agent',
      logger,
      handler: handler(AgentOps[op].input as unknown as z.ZodType<AgentOpInput<K>>, async (input) => answer(input)),
    });
  const out = (sessionId: string, message: FileStreamMessage) =>
    nc.publish(agentSubjects.session(nodeId, sessionId, 'out'), JSON.stringify(message));

  serve('fileList', ({ path }) => ({ path, entries: [entryOf(posix.join(path, 'README.md'))] }));
  serve('fileStat', ({ path }) => entryOf(path, 'file', CONTENT.length));
  serve('fileMkdir', ({ path }) => entryOf(path, 'dir'));
  serve('fileMove', ({ to }) => entryOf(to));
  serve('fileChmod', ({ path }) => entryOf(path));
  serve('fileDelete', () => ({}));
  // The bytes follow the answer on the session (the gateway subscribed before it asked).
  serve('fileDownload', ({ path, sessionId }) => {
    setTimeout(() => {
      out(sessionId, { t: 'data', data: CONTENT.toString('base64') });
      out(sessionId, { t: 'end' });
    }, 20);
    return entryOf(path, 'file', CONTENT.length);
  });
  // Ready once listening on `.in`; acknowledges what arrives and finishes with the new entry on `end`.
  serve('fileUpload', ({ path, sessionId }) => {
    let received = 0;
    const input = nc.subscribe(agentSubjects.session(nodeId, sessionId, 'in'), {
      callback: (_error, msg) => {
        const parsed = FileStreamMessage.safeParse(JSON.parse(msg.string()));
        if (!parsed.success) return;
        const message = parsed.data;
        if (message.t === 'data') {
          received += Buffer.from(message.data, 'base64').length;
          out(sessionId, { t: 'ack', bytes: received });
        } else if (message.t === 'end') {
          out(sessionId, { t: 'done', entry: entryOf(path, 'file', received) });
          input.unsubscribe();
        } else if (message.t === 'close') {
          input.unsubscribe();
        }
      },
    });
    return { ready: true as const };
  });
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= make();
    return made;
  };
}

export function workspaceWorld(m: Matrix, pods: PodWorld): WorkspaceWorld {
  const served = new Set<string>();
  const standIn = (nodeId: string) => {
    if (served.has(nodeId)) return;
    served.add(nodeId);
    serveFiles(m.world.nc, nodeId);
  };
  return {
    pod: once(async () => {
      const body = (await pods.podBody(FILES_POD)) as { spec: Record<string, unknown> };
      await m.world.must(201, {
        method: 'POST',
        url: '/api/v1/tenants/acme/pods',
        as: m.root,
        body: { ...body, spec: { ...body.spec, volume: { mountPath: '/data' } } },
      });
      standIn((await pods.poolNode()).node.id);
      return FILES_POD;
    }),
    node: once(async () => {
      const { node } = await pods.acmeNode();
      standIn(node.id);
      return node.id;
    }),
  };
}
