import { z } from 'zod';
import type { ApiRoute } from './api.ts';
import { ErrorBody } from './errors.ts';
import { PodId } from './pods.ts';
import { TenantId } from './tenants.ts';

/*
 * The browser workspace (terminal and files), relayed from agents. Three legs:
 *
 *  browser / CLI ──WebSocket or HTTP──▶ gateway ──agent.<node>.cmd.<op> + session subjects──▶ agent (pty, files)
 *
 * - Terminal: the gateway authorises the caller, asks the agent `terminalOpen` with a fresh session id, then relays
 *   bytes: client → `agent.<node>.session.<id>.in` (TerminalInput) → agent; agent → `….out` (TerminalOutput) →
 *   client. Flow control is a credit window end to end: the agent stops reading the pty while more than
 *   TERMINAL_WINDOW_BYTES of output are unacknowledged; the client acknowledges what it has consumed (xterm's write
 *   callback, or the CLI's stdout drain) and the gateway forwards the acknowledgement. Nothing in the chain then
 *   holds more than one window.
 * - Files: small operations are plain agent requests; downloads and uploads stream chunks over a session with the
 *   same credit window (FILE_WINDOW_BYTES).
 */

/** A session id: one NATS subject token, unguessable (the gateway makes 16 random bytes, base64url). */
export const SessionId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/);

/** Unacknowledged terminal output the agent allows before it pauses the pty. */
export const TERMINAL_WINDOW_BYTES = 256 * 1024;
/** Largest chunk of terminal output in one message. */
export const TERMINAL_CHUNK_BYTES = 32 * 1024;
/** Unacknowledged file bytes either side allows in flight. */
export const FILE_WINDOW_BYTES = 4 * 1024 * 1024;
/** Largest chunk of a file in one session message (base64 in JSON: stays well under the agent frame limit). */
export const FILE_CHUNK_BYTES = 512 * 1024;
/** The gateway sends a keepalive on every open session this often; the agent ends a session silent for 3×. */
export const SESSION_KEEPALIVE_SECONDS = 15;

/** Terminal size; both at least 1, bounded so a client cannot ask the pty for absurd sizes. */
export const TerminalSize = z.object({
  cols: z.number().int().min(1).max(1000),
  rows: z.number().int().min(1).max(1000),
});
export type TerminalSize = z.infer<typeof TerminalSize>;

/** A command line as argv; absent = the target's login shell (`/bin/sh` in a container without bash). */
export const CommandLine = z.array(z.string().max(4096)).min(1).max(256);

/** Where a terminal runs: inside a pod's container (`docker exec`) or on the node itself (node-pty). */
export const TerminalTarget = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('container'), containerId: z.string().min(1).max(255) }).strict(),
  z.object({ kind: z.literal('host') }).strict(),
]);
export type TerminalTarget = z.infer<typeof TerminalTarget>;

/**
 * Where file paths are resolved: a pod's named volume (the agent resolves the volume's mount point through Docker),
 * or the node's own filesystem within the roots the agent is configured with (`AGENTPOD_FILE_ROOTS`). Paths are
 * always absolute within the scope: `/` is the volume's top, or (host) the list of allowed roots.
 */
export const FileScope = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('volume'), volume: z.string().min(1).max(255) }).strict(),
  z.object({ kind: z.literal('host') }).strict(),
]);
export type FileScope = z.infer<typeof FileScope>;

/**
 * A path as the client gives it: absolute (`/`-separated), no NUL, at most 4096 bytes, no component over 255 bytes.
 * This is only the first gate; the agent resolves real paths and refuses anything outside the scope.
 */
export const FilePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((value) => value.startsWith('/'), 'must be an absolute path (start with /)')
  .refine((value) => !value.includes('\0'), 'must not contain NUL bytes')
  .refine(
    (value) => value.split('/').every((part) => Buffer.byteLength(part) <= 255),
    'no path component may be longer than 255 bytes',
  );

/** An octal file mode such as `644` or `0755` (permission bits and setgid/sticky; never setuid). */
export const FileMode = z.string().regex(/^0?[0-3]?[0-7]{3}$/, 'must be an octal mode such as 644 or 0755');

export const FileType = z.enum(['file', 'dir', 'symlink', 'other']);

/**
 * One directory entry. `version` changes whenever the content may have (mtime in ns and size): the editor sends it
 * back with a save and gets `conflict` when the file changed on disk since it was opened.
 */
export const FileEntry = z.object({
  name: z.string(),
  path: z.string(),
  type: FileType,
  size: z.number().int().nonnegative(),
  /** Octal permission bits, e.g. `644`. */
  mode: z.string(),
  modifiedAt: z.string(),
  version: z.string(),
  /** For a symlink: its target as stored (not followed). */
  target: z.string().optional(),
});
export type FileEntry = z.infer<typeof FileEntry>;

export const FileListing = z.object({
  path: z.string(),
  entries: z.array(FileEntry),
  /** True when the directory holds more entries than the agent lists (AGENTPOD_FILE_MAX_LIST_ENTRIES). */
  truncated: z.boolean().optional(),
});
export type FileListing = z.infer<typeof FileListing>;

const scoped = { scope: FileScope };

/** Agent operations of the workspace (spread into AgentOps). */
export const workspaceAgentOps = {
  /**
   * Opens a pty (tty) or plain pipes and answers when the process runs; output then flows as TerminalOutput on
   * `session.<sessionId>.out`, input is read from `….in`. Again with a running session id: the same answer.
   */
  terminalOpen: {
    input: z
      .object({
        sessionId: SessionId,
        target: TerminalTarget,
        command: CommandLine.optional(),
        tty: z.boolean().default(true),
        size: TerminalSize.default({ cols: 80, rows: 24 }),
      })
      .strict(),
    output: z.object({ pid: z.number().int().nullable() }),
  },
  fileList: { input: z.object({ ...scoped, path: FilePath }).strict(), output: FileListing },
  fileStat: { input: z.object({ ...scoped, path: FilePath }).strict(), output: FileEntry },
  /** Starts a download: answers the entry, then streams FileStreamMessage `data` chunks and one `end` on `….out`. */
  fileDownload: {
    input: z.object({ ...scoped, path: FilePath, sessionId: SessionId }).strict(),
    output: FileEntry,
  },
  /**
   * Starts an upload into a temporary file beside `path`: answers when ready, then reads `data` chunks and one
   * `end` from `….in` and acknowledges on `….out`; on `end` the file replaces `path` atomically (rename) and the
   * agent publishes `done` with the new entry. `ifVersion`: `conflict` when the file's version differs (or it is
   * gone). `extract: 'tar'`: `path` is a directory and the bytes are a tar (gzip detected) unpacked into it; an
   * entry that would land outside it (`..`, absolute, a link out) refuses the whole archive and nothing is kept.
   */
  fileUpload: {
    input: z
      .object({
        ...scoped,
        path: FilePath,
        sessionId: SessionId,
        size: z.number().int().nonnegative().optional(),
        mode: FileMode.optional(),
        ifVersion: z.string().max(128).optional(),
        overwrite: z.boolean().default(true),
        extract: z.enum(['tar']).optional(),
      })
      .strict(),
    output: z.object({ ready: z.literal(true) }),
  },
  fileMkdir: {
    input: z.object({ ...scoped, path: FilePath, parents: z.boolean().default(false) }).strict(),
    output: FileEntry,
  },
  fileMove: {
    input: z.object({ ...scoped, from: FilePath, to: FilePath, overwrite: z.boolean().default(false) }).strict(),
    output: FileEntry,
  },
  fileDelete: {
    input: z.object({ ...scoped, path: FilePath, recursive: z.boolean().default(false) }).strict(),
    output: z.object({}),
  },
  fileChmod: {
    input: z.object({ ...scoped, path: FilePath, mode: FileMode }).strict(),
    output: FileEntry,
  },
} as const;

/** Terminal bytes and control, control plane → agent, on `session.<id>.in`. `data` is base64. */
export const TerminalInput = z.discriminatedUnion('t', [
  z.object({ t: z.literal('in'), data: z.string() }).strict(),
  z.object({ t: z.literal('resize'), ...TerminalSize.shape }).strict(),
  /** Cumulative output bytes the client has consumed. */
  z.object({ t: z.literal('ack'), bytes: z.number().int().nonnegative() }).strict(),
  /** End of input (non-tty commands reading stdin). */
  z.object({ t: z.literal('eof') }).strict(),
  z.object({ t: z.literal('keepalive') }).strict(),
  /** Ends the session: the process gets SIGHUP, then SIGKILL after 2 s, and is reaped. */
  z.object({ t: z.literal('close') }).strict(),
]);
export type TerminalInput = z.infer<typeof TerminalInput>;

/** Terminal output, agent → control plane, on `session.<id>.out`. `data` is base64; stderr only without a tty. */
export const TerminalOutput = z.discriminatedUnion('t', [
  z.object({ t: z.literal('out'), data: z.string(), stream: z.enum(['stdout', 'stderr']).default('stdout') }).strict(),
  /** The process ended; `code` null when it was killed by a signal. Always the last message. */
  z.object({ t: z.literal('exit'), code: z.number().int().nullable(), signal: z.string().optional() }).strict(),
  z.object({ t: z.literal('error'), error: ErrorBody }).strict(),
]);
export type TerminalOutput = z.infer<typeof TerminalOutput>;

/**
 * File stream messages, both directions of a download/upload session (`data` is base64).
 * Download: agent sends `data`… `end` (or `error`); the gateway sends `ack {bytes}` and may send `close`.
 * Upload: the gateway sends `data`… `end` (or `close` to abort: the temporary file is removed); the agent sends
 * `ack {bytes}` as it writes, then `done {entry}` or `error`.
 */
export const FileStreamMessage = z.discriminatedUnion('t', [
  z.object({ t: z.literal('data'), data: z.string() }).strict(),
  z.object({ t: z.literal('end') }).strict(),
  z.object({ t: z.literal('ack'), bytes: z.number().int().nonnegative() }).strict(),
  z.object({ t: z.literal('done'), entry: FileEntry }).strict(),
  z.object({ t: z.literal('error'), error: ErrorBody }).strict(),
  z.object({ t: z.literal('keepalive') }).strict(),
  z.object({ t: z.literal('close') }).strict(),
]);
export type FileStreamMessage = z.infer<typeof FileStreamMessage>;

/*
 * The terminal WebSocket, client ↔ gateway:
 *   GET /api/v1/tenants/:tenant/pods/:pod/terminal   (member or above of the tenant)
 *   GET /api/v1/nodes/:node/terminal                 (platform admin, or owner of the tenant that owns the node)
 * Credentials: the session cookie with a same-origin `Origin` (browser), or `Authorization: Bearer` (CLI, no
 * Origin). Never in the URL. Refused before the upgrade with the API's JSON error (401/403/404).
 * Client → gateway: binary frames are stdin bytes; text frames are TerminalClientMessage (the first must be `start`).
 * Gateway → client: binary frames are output: first byte the stream (1 stdout, 2 stderr), then the bytes; text frames
 * are TerminalServerMessage. Close codes: TERMINAL_CLOSE.
 */
export const TerminalClientMessage = z.discriminatedUnion('t', [
  z
    .object({
      t: z.literal('start'),
      ...TerminalSize.shape,
      command: CommandLine.optional(),
      tty: z.boolean().default(true),
    })
    .strict(),
  z.object({ t: z.literal('resize'), ...TerminalSize.shape }).strict(),
  z.object({ t: z.literal('ack'), bytes: z.number().int().nonnegative() }).strict(),
  z.object({ t: z.literal('eof') }).strict(),
]);
export type TerminalClientMessage = z.infer<typeof TerminalClientMessage>;

export const TerminalServerMessage = z.discriminatedUnion('t', [
  z.object({ t: z.literal('ready'), sessionId: SessionId }).strict(),
  z.object({ t: z.literal('exit'), code: z.number().int().nullable(), signal: z.string().optional() }).strict(),
  z.object({ t: z.literal('error'), error: ErrorBody }).strict(),
]);
export type TerminalServerMessage = z.infer<typeof TerminalServerMessage>;

export const TERMINAL_STREAM_BYTE = { stdout: 1, stderr: 2 } as const;

export const TERMINAL_CLOSE = {
  /** The command exited (after an `exit` message). */
  exited: 1000,
  /** The caller's access ended (signed out, removed from the tenant, token revoked). */
  accessLost: 4403,
  /** No input or output for AGENTPOD_TERMINAL_IDLE_SECONDS. */
  idle: 4408,
  /** The agent ended the session or its node went away (after an `error` message). */
  agentGone: 4502,
  /** A frame that is not the protocol (after an `error` message). */
  protocol: 4400,
} as const;

/** Pods service: where a pod's workspace lives, for a member or above. */
export const WorkspaceQueries = {
  podWorkspace: z.object({ tenantId: TenantId, podId: PodId }).strict(),
  /** The node itself: a platform admin, or an owner of the tenant that owns the node; otherwise not_found. */
  nodeWorkspace: z.object({ nodeId: z.string().min(1).max(64) }).strict(),
} as const;

export const WorkspaceResults = {
  podWorkspace: z.object({
    nodeId: z.string(),
    /** The current generation's container while it runs; null otherwise (no terminal; files still work). */
    containerId: z.string().nullable(),
    /** The pod's named volume; null when it has none (no `volume` in its spec, or an adopted pod): no files. */
    volume: z.string().nullable(),
  }),
  nodeWorkspace: z.object({ nodeId: z.string() }),
} as const;

const podParams = z.object({ tenant: TenantId, pod: PodId });
const nodeParams = z.object({ node: z.string().min(1).max(64) });
const pathQuery = z.object({ path: FilePath.default('/') }).strict();
const Flag = z.enum(['true', 'false']).default('false');
const MoveBody = z.object({ from: FilePath, to: FilePath, overwrite: z.boolean().default(false) }).strict();
const MkdirBody = z.object({ path: FilePath, parents: z.boolean().default(false) }).strict();
const ChmodBody = z.object({ path: FilePath, mode: FileMode }).strict();
const UploadQuery = z
  .object({
    path: FilePath,
    mode: FileMode.optional(),
    overwrite: z.enum(['true', 'false']).default('true'),
    extract: z.enum(['tar']).optional(),
  })
  .strict();

/** The file routes of one target (pod or node); the same shapes under two prefixes. */
function fileRoutes<P extends z.ZodObject>(prefix: string, params: P, access: 'pod' | 'node') {
  const rule = access === 'pod' ? ({ tenant: 'member' } as const) : ('signedIn' as const);
  const who =
    access === 'pod' ? "the pod's volume" : "the node's allowed roots (platform admin or the node's tenant owner)";
  return {
    list: {
      method: 'GET',
      path: `${prefix}/files`,
      summary: `List a directory in ${who}`,
      access: rule,
      params,
      query: pathQuery,
      response: FileListing,
    },
    download: {
      method: 'GET',
      path: `${prefix}/files/content`,
      summary: `Download a file from ${who} (streamed application/octet-stream; ETag is the file's version)`,
      access: rule,
      params,
      query: z.object({ path: FilePath }).strict(),
    },
    upload: {
      method: 'POST',
      path: `${prefix}/files/content`,
      summary:
        `Upload a file into ${who} (streamed application/octet-stream body; If-Match: the version it must still ` +
        'have, else 409; extract=tar unpacks a tar into the directory `path`)',
      access: rule,
      params,
      query: UploadQuery,
      status: 201,
      response: FileEntry,
    },
    mkdir: {
      method: 'POST',
      path: `${prefix}/files/mkdir`,
      summary: `Create a directory in ${who}`,
      access: rule,
      params,
      body: MkdirBody,
      status: 201,
      response: FileEntry,
    },
    move: {
      method: 'POST',
      path: `${prefix}/files/move`,
      summary: `Rename or move a file or directory in ${who}`,
      access: rule,
      params,
      body: MoveBody,
      response: FileEntry,
    },
    chmod: {
      method: 'POST',
      path: `${prefix}/files/chmod`,
      summary: `Change a file's mode in ${who}`,
      access: rule,
      params,
      body: ChmodBody,
      response: FileEntry,
    },
    remove: {
      method: 'DELETE',
      path: `${prefix}/files`,
      summary: `Delete a file, or a directory (recursive=true for a non-empty one), in ${who}`,
      access: rule,
      params,
      query: z.object({ path: FilePath, recursive: Flag }).strict(),
      status: 204,
    },
  } satisfies Record<string, ApiRoute>;
}

const podFiles = fileRoutes('/api/v1/tenants/:tenant/pods/:pod', podParams, 'pod');
const nodeFiles = fileRoutes('/api/v1/nodes/:node', nodeParams, 'node');

/** REST routes of the workspace (spread into `routes`). The terminal WebSockets are described above. */
export const workspaceRoutes = {
  listPodFiles: podFiles.list,
  downloadPodFile: podFiles.download,
  uploadPodFile: podFiles.upload,
  mkdirPodFile: podFiles.mkdir,
  movePodFile: podFiles.move,
  chmodPodFile: podFiles.chmod,
  deletePodFile: podFiles.remove,
  listNodeFiles: nodeFiles.list,
  downloadNodeFile: nodeFiles.download,
  uploadNodeFile: nodeFiles.upload,
  mkdirNodeFile: nodeFiles.mkdir,
  moveNodeFile: nodeFiles.move,
  chmodNodeFile: nodeFiles.chmod,
  deleteNodeFile: nodeFiles.remove,
} as const;
