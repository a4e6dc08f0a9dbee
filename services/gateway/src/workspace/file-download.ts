import { Readable } from 'node:stream';
import {
  AppError,
  FILE_CHUNK_BYTES,
  FILE_WINDOW_BYTES,
  type FileEntry,
  FileStreamMessage,
  SESSION_KEEPALIVE_SECONDS,
} from '@agentpod/contracts';
import { AgentSession } from './agent-session.ts';
import type { FileContext, FileTarget } from './file-target.ts';
import { askAgent } from './targets.ts';

/*
 * A download: the agent streams `data` chunks on the session's `.out` and holds back once FILE_WINDOW_BYTES are
 * unacknowledged; the gateway pushes each chunk into the response stream and acknowledges what has left that stream
 * for the HTTP socket. A client that reads slowly stops the agent reading the file; the gateway never holds more
 * than about one window, whatever the file's size.
 *
 *   agent ──data…end──▶ .out ──▶ Readable (response) ──▶ HTTP socket
 *         ◀────────ack─ .in  ◀── consumed = received − still buffered
 */

const START_TIMEOUT_MS = 30_000;
/** The agent has not sent anything this long while the gateway waits for bytes: the node is gone. */
const SILENCE_MS = 3 * SESSION_KEEPALIVE_SECONDS * 1000;

/** RFC 6266/5987 `filename*`: UTF-8, percent-encoded, nothing a header or a quote could misread. */
export function contentDisposition(name: string): string {
  const encoded = encodeURIComponent(name).replace(/['()*!]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename*=UTF-8''${encoded}`;
}

/** An ETag from the agent's version: quoted, with nothing that could break the header. */
export const etagOf = (version: string): string => `"${version.replace(/[^\x21\x23-\x7e]/g, '')}"`;

/** The headers a download would have, from `fileStat` (HEAD: no session, nothing read). */
async function describeFile(context: FileContext<unknown>, target: FileTarget, path: string): Promise<Readable> {
  const { deps, request } = context;
  const entry = await askAgent(
    deps.nc,
    target.nodeId,
    'fileStat',
    { scope: target.scope, path },
    request.id,
    START_TIMEOUT_MS,
  );
  if (entry.type !== 'file') throw new AppError('invalid', `${path} is not a file (it is a ${entry.type})`);
  setHeaders(context, entry);
  return Readable.from([]);
}

function setHeaders(context: FileContext<unknown>, entry: FileEntry): void {
  context.reply
    .type('application/octet-stream')
    .header('content-length', String(entry.size))
    .header('etag', etagOf(entry.version))
    .header('content-disposition', contentDisposition(entry.name))
    .header('cache-control', 'no-store');
}

export async function downloadFile(context: FileContext<unknown>, target: FileTarget, path: string): Promise<Readable> {
  if (context.request.method === 'HEAD') return describeFile(context, target, path);
  const { deps, request } = context;
  let received = 0;
  let acked = 0;
  let size: number | undefined;
  let finished = false;

  const ackConsumed = () => {
    const consumed = received - body.readableLength;
    if (!session.ended && consumed - acked >= Math.min(FILE_CHUNK_BYTES, FILE_WINDOW_BYTES / 2)) {
      acked = consumed;
      session.send({ t: 'ack', bytes: consumed });
    }
  };
  const body = new Readable({ read: () => ackConsumed() });
  // Failures are reported through the response (cut short); this listener only keeps one from being unhandled.
  body.on('error', (error) => request.log.info({ err: error, path }, 'download ended early'));
  const fail = (error: AppError) => {
    if (finished) return;
    finished = true;
    session.end(true);
    body.destroy(error);
  };
  const session = new AgentSession({
    nc: deps.nc,
    logger: deps.logger.child({ requestId: request.id }),
    nodeId: target.nodeId,
    schema: FileStreamMessage,
    keepaliveMs: deps.options.workspace.keepaliveMs,
    onMessage: (message) => {
      if (finished) return;
      switch (message.t) {
        case 'data': {
          const bytes = Buffer.from(message.data, 'base64');
          received += bytes.length;
          if (size !== undefined && received > size) {
            fail(new AppError('conflict', `${path} grew while it was read; download it again`));
            return;
          }
          body.push(bytes);
          ackConsumed();
          return;
        }
        case 'end':
          if (size !== undefined && received !== size) {
            fail(new AppError('conflict', `${path} changed while it was read; download it again`));
            return;
          }
          finished = true;
          session.end(false);
          body.push(null);
          return;
        case 'error':
          finished = true;
          session.end(false);
          body.destroy(new AppError(message.error.code, message.error.message));
          return;
        case 'keepalive':
          return;
        case 'ack':
        case 'done':
        case 'close':
          request.log.warn({ type: message.t }, 'a download session got an upload message from the agent');
          return;
        default: {
          const unknown: never = message;
          throw new Error(`unknown file stream message ${JSON.stringify(unknown)}`);
        }
      }
    },
  });
  // The client went (or the response failed): the agent stops reading the file.
  body.once('close', () => {
    clearInterval(watchdog);
    if (!finished) {
      finished = true;
      session.end(true);
    }
  });
  const watchdog = setInterval(() => {
    const waiting = !finished && received - acked < FILE_WINDOW_BYTES;
    if (waiting && Date.now() - session.lastHeardAt > SILENCE_MS) {
      fail(new AppError('unavailable', `node ${target.nodeId} stopped sending ${path}`));
    }
  }, SILENCE_MS / 3);
  watchdog.unref();

  let entry: FileEntry;
  try {
    entry = await askAgent(
      deps.nc,
      target.nodeId,
      'fileDownload',
      { scope: target.scope, path, sessionId: session.id },
      request.id,
      START_TIMEOUT_MS,
    );
  } catch (error) {
    finished = true;
    session.end(true);
    body.destroy();
    throw error;
  }
  const refusal =
    entry.type !== 'file'
      ? new AppError('invalid', `${path} is not a file (it is a ${entry.type}); list a directory instead`)
      : received > entry.size
        ? new AppError('conflict', `${path} grew while it was read; download it again`)
        : undefined;
  if (refusal) {
    fail(refusal);
    throw refusal;
  }
  size = entry.size;
  setHeaders(context, entry);
  return body;
}
