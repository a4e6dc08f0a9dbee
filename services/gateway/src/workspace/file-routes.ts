import type { FileScope, workspaceRoutes } from '@agentpod/contracts';
import type { RouteHandlers } from '../api/context.ts';
import { downloadFile } from './file-download.ts';
import { type FileContext, fileTarget } from './file-target.ts';
import { type UploadQuery, uploadFile } from './file-upload.ts';
import { askAgent, type WorkspaceRef } from './targets.ts';

/*
 * The REST file routes of a pod's volume and of a node's allowed roots (workspaceRoutes). The registry has
 * authenticated the caller and applied the route's rule; pods then says, for this caller, where the workspace is
 * (and refuses with not_found / forbidden), and the node's agent does the work within the scope, confining every
 * path to it. Downloads and uploads stream over an agent session (file-download.ts, file-upload.ts).
 */

/** Small operations wait this long for the agent (a recursive delete of a big tree takes a while). */
const FILE_OP_TIMEOUT_MS = 60_000;

type SmallOp = 'fileList' | 'fileMkdir' | 'fileMove' | 'fileChmod' | 'fileDelete';
type Path = { path: string };

const podRef = (params: unknown): WorkspaceRef => {
  const { tenant, pod } = params as { tenant: string; pod: string };
  return { kind: 'pod', tenantId: tenant, podId: pod };
};
const nodeRef = (params: unknown): WorkspaceRef => ({ kind: 'node', node: (params as { node: string }).node });

function handlersFor(refOf: (params: unknown) => WorkspaceRef) {
  const ask = async <K extends SmallOp>(
    context: FileContext<unknown, unknown>,
    op: K,
    input: (scope: FileScope) => Parameters<typeof askAgent<K>>[3],
  ) => {
    const { nodeId, scope } = await fileTarget(context, refOf(context.params));
    return askAgent(context.deps.nc, nodeId, op, input(scope), context.request.id, FILE_OP_TIMEOUT_MS);
  };
  return {
    list: (context: FileContext<Path>) => ask(context, 'fileList', (scope) => ({ scope, path: context.query.path })),
    mkdir: (context: FileContext<unknown, Path & { parents: boolean }>) =>
      ask(context, 'fileMkdir', (scope) => ({ scope, ...context.body })),
    move: (context: FileContext<unknown, { from: string; to: string; overwrite: boolean }>) =>
      ask(context, 'fileMove', (scope) => ({ scope, ...context.body })),
    chmod: (context: FileContext<unknown, Path & { mode: string }>) =>
      ask(context, 'fileChmod', (scope) => ({ scope, ...context.body })),
    remove: async (context: FileContext<Path & { recursive: 'true' | 'false' }>) => {
      const { path, recursive } = context.query;
      await ask(context, 'fileDelete', (scope) => ({ scope, path, recursive: recursive === 'true' }));
    },
    download: async (context: FileContext<Path>) =>
      downloadFile(context, await fileTarget(context, refOf(context.params)), context.query.path),
    upload: async (context: FileContext<UploadQuery>) =>
      uploadFile(context, await fileTarget(context, refOf(context.params))),
  };
}

const pod = handlersFor(podRef);
const node = handlersFor(nodeRef);

export const workspaceFileHandlers: Pick<RouteHandlers, keyof typeof workspaceRoutes> = {
  listPodFiles: pod.list,
  downloadPodFile: pod.download,
  uploadPodFile: pod.upload,
  mkdirPodFile: pod.mkdir,
  movePodFile: pod.move,
  chmodPodFile: pod.chmod,
  deletePodFile: pod.remove,
  listNodeFiles: node.list,
  downloadNodeFile: node.download,
  uploadNodeFile: node.upload,
  mkdirNodeFile: node.mkdir,
  moveNodeFile: node.move,
  chmodNodeFile: node.chmod,
  deleteNodeFile: node.remove,
};
