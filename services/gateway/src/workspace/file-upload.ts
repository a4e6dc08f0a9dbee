import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import {
  AppError,
  FILE_CHUNK_BYTES,
  FILE_WINDOW_BYTES,
  type FileEntry,
  FileStreamMessage,
  SESSION_KEEPALIVE_SECONDS,
  workspaceRoutes,
} from '@agentpod/contracts';
import type { FastifyInstance } from 'fastify';
import { AgentSession } from './agent-session.ts';
import type { FileContext, FileTarget } from './file-target.ts';
import { askAgent } from './targets.ts';

/*
 * An upload: the request body is never buffered. The upload routes take `application/octet-stream` as a stream
 * (registerUploadParser); once the agent is ready the gateway reads the body in chunks of at most FILE_CHUNK_BYTES,
 * publishes them as `data` on the session's `.in`, and stops reading (TCP then slows the client) while
 * FILE_WINDOW_BYTES are unacknowledged by the agent, which acknowledges as it writes. `end` follows the last chunk;
 * the agent answers `done` with the new entry (201) or `error`. A client that goes mid-way makes the agent `close`
 * (the temporary file is removed).
 *
 *   client ──body──▶ gateway ──data…end──▶ .in ──▶ agent (temp file, rename on end)
 *                            ◀──ack…done── .out ◀──
 */

export type UploadQuery = { path: string; mode?: string; overwrite: 'true' | 'false'; extract?: 'tar' };

const START_TIMEOUT_MS = 30_000;
/** The agent has not answered this long while the gateway waits for an ack or `done`: the node is gone. */
const SILENCE_MS = 3 * SESSION_KEEPALIVE_SECONDS * 1000;
const UPLOAD_PATHS = new Set<string>([workspaceRoutes.uploadPodFile.path, workspaceRoutes.uploadNodeFile.path]);

/**
 * Lets the upload routes take `application/octet-stream` bodies as streams (fastify's body limit does not apply to
 * a stream: uploadFile enforces AGENTPOD_FILE_MAX_UPLOAD_BYTES itself). Every other route still takes JSON only.
 */
export function registerUploadParser(app: FastifyInstance): void {
  app.addContentTypeParser('application/octet-stream', (request, payload, done) => {
    if (UPLOAD_PATHS.has(request.routeOptions.url ?? '')) {
      done(null, payload);
      return;
    }
    const refused = Object.assign(new Error('request body must be JSON'), {
      code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
      statusCode: 415,
    });
    done(refused, undefined);
  });
}

const tooLarge = (max: number) =>
  Object.assign(new Error(`the upload is larger than ${max} bytes (AGENTPOD_FILE_MAX_UPLOAD_BYTES)`), {
    statusCode: 413,
  });

/** The version an `If-Match` header names (the ETag of a download), or undefined without one. */
export function ifMatchVersion(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*(?:W\/)?"([^"]{1,128})"\s*$/.exec(header) ?? /^\s*([^\s",*]{1,128})\s*$/.exec(header);
  if (!match?.[1]) {
    throw new AppError('invalid', 'If-Match must name one version, as the ETag of a download gives it ("…")');
  }
  return match[1];
}

function bodyStream(context: FileContext<unknown>): Readable {
  const body = context.request.body;
  if (body instanceof Readable) return body;
  const length = context.request.headers['content-length'];
  if (body === undefined && (length === undefined || length === '0')) return Readable.from([]);
  throw Object.assign(new Error('upload the file as the body, with content-type: application/octet-stream'), {
    statusCode: 415,
  });
}

export function uploadFile(context: FileContext<UploadQuery>, target: FileTarget): Promise<FileEntry> {
  const { deps, request, reply, query } = context;
  const max = deps.options.workspace.maxUploadBytes;
  const declared =
    request.headers['content-length'] === undefined ? undefined : Number(request.headers['content-length']);
  if (declared !== undefined && declared > max) throw tooLarge(max);
  const ifVersion = ifMatchVersion(request.headers['if-match']);
  const payload = bodyStream(context);

  return new Promise<FileEntry>((resolve, reject) => {
    let sent = 0;
    let acked = 0;
    let ready = false;
    let endSent = false;
    let settled = false;

    const settle = (outcome: { entry: FileEntry } | { error: Error }, tellAgent: boolean) => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      session.end(tellAgent);
      payload.off('readable', pump);
      if ('entry' in outcome) {
        resolve(outcome.entry);
        return;
      }
      // What the client still sends is read and dropped, and the connection is not used again.
      reply.header('connection', 'close');
      payload.resume();
      reject(outcome.error);
    };
    const pump = () => {
      if (settled || !ready) return;
      while (sent - acked < FILE_WINDOW_BYTES) {
        const chunk = payload.read(FILE_CHUNK_BYTES) as Buffer | null;
        if (chunk === null) return;
        if (sent + chunk.length > max) {
          settle({ error: tooLarge(max) }, true);
          return;
        }
        session.send({ t: 'data', data: chunk.toString('base64') });
        sent += chunk.length;
      }
    };
    const session = new AgentSession({
      nc: deps.nc,
      logger: deps.logger.child({ requestId: request.id }),
      nodeId: target.nodeId,
      schema: FileStreamMessage,
      keepaliveMs: deps.options.workspace.keepaliveMs,
      onMessage: (message) => {
        switch (message.t) {
          case 'ack':
            acked = Math.max(acked, message.bytes);
            pump();
            return;
          case 'done':
            settle({ entry: message.entry }, false);
            return;
          case 'error':
            settle({ error: new AppError(message.error.code, message.error.message) }, false);
            return;
          case 'keepalive':
            return;
          case 'data':
          case 'end':
          case 'close':
            request.log.warn({ type: message.t }, 'an upload session got a download message from the agent');
            return;
          default: {
            const unknown: never = message;
            throw new Error(`unknown file stream message ${JSON.stringify(unknown)}`);
          }
        }
      },
    });
    const watchdog = setInterval(() => {
      const waiting = ready && (sent > acked || endSent);
      if (waiting && Date.now() - session.lastHeardAt > SILENCE_MS) {
        settle({ error: new AppError('unavailable', `node ${target.nodeId} stopped answering the upload`) }, true);
      }
    }, SILENCE_MS / 3);
    watchdog.unref();

    const aborted = () => {
      const complete = (payload as Partial<IncomingMessage>).complete ?? payload.readableEnded;
      if (!complete) settle({ error: new AppError('invalid', 'the client ended the upload before its end') }, true);
    };
    payload.once('close', aborted);
    payload.once('error', aborted);
    payload.once('end', () => {
      if (settled) return;
      session.send({ t: 'end' });
      endSent = true;
    });

    const input = {
      scope: target.scope,
      path: query.path,
      sessionId: session.id,
      overwrite: query.overwrite === 'true',
      ...(declared !== undefined ? { size: declared } : {}),
      ...(query.mode !== undefined ? { mode: query.mode } : {}),
      ...(query.extract !== undefined ? { extract: query.extract } : {}),
      ...(ifVersion !== undefined ? { ifVersion } : {}),
    };
    askAgent(deps.nc, target.nodeId, 'fileUpload', input, request.id, START_TIMEOUT_MS).then(
      () => {
        if (settled) return;
        ready = true;
        payload.on('readable', pump);
        pump();
      },
      (error: unknown) => settle({ error: error instanceof Error ? error : new Error(String(error)) }, true),
    );
  });
}
