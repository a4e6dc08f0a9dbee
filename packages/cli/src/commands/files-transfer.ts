import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline as pipe, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeWebStream } from 'node:stream/web';
import { AppError } from '@agentpod/contracts';
import { defineCommand, usageError } from '../args.ts';
import type { Context } from '../context.ts';
import { clean, EXIT } from '../output.ts';
import {
  baseName,
  FILE_REF_LABELS,
  type FileRef,
  formatBytes,
  formatRef,
  parseFileRef,
  progress,
} from './files-ref.ts';

/*
 * `files get` and `files put`: streamed both ways, never held in memory. A download goes to a temporary file beside
 * the destination and is renamed into place only once every byte the gateway announced has arrived, so a broken
 * transfer never leaves a truncated file under the real name. `-` is stdout (get) or stdin (put).
 */

const paramsOf = (ref: FileRef) => ({ tenant: ref.tenant, pod: ref.pod });

/** A stream that broke half way (the gateway or the agent went away) as an error the CLI can report. */
function broken(error: unknown, what: string): unknown {
  if (error instanceof AppError || (error as Error).name === 'AbortError') return error;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (error as Error).message;
  return new AppError('unavailable', `the ${what} broke: ${why}`, { cause: error });
}

/** Where a download lands: `local`, a directory (the remote name inside it), or the remote name here. */
async function destinationOf(local: string | undefined, ref: FileRef): Promise<string> {
  const name = baseName(ref.path);
  if (local === undefined) return name;
  const found = await stat(local).catch(() => undefined);
  return found?.isDirectory() ? join(local, name) : local;
}

async function download(ctx: Context, ref: FileRef, local: string | undefined): Promise<number> {
  const client = await ctx.client();
  const response = await client.open(
    'downloadPodFile',
    { params: paramsOf(ref), query: { path: ref.path } },
    { labels: FILE_REF_LABELS, timeoutMs: null },
  );
  const length = response.headers.get('content-length');
  const total = length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
  const version = response.headers.get('etag')?.replace(/^(W\/)?"|"$/g, '');
  const source = response.body
    ? Readable.fromWeb(response.body as unknown as NodeWebStream<Uint8Array>)
    : Readable.from([]);
  const meter = progress(ctx.io.stderr, formatRef(ref), total);
  const checkComplete = () => {
    if (total !== undefined && meter.bytes() !== total) {
      throw new AppError('unavailable', `the download ended after ${meter.bytes()} of ${total} bytes`);
    }
  };

  if (local === '-') {
    const stdout = ctx.io.stdout;
    if (!(stdout instanceof Writable)) throw usageError('cannot write bytes to this standard output');
    try {
      await pipeline(source, meter.meter, stdout, { end: false });
    } catch (error) {
      throw broken(error, 'download');
    } finally {
      meter.finish();
    }
    checkComplete();
    return EXIT.ok;
  }

  const destination = await destinationOf(local, ref);
  const partial = join(dirname(destination), `.${basename(destination)}.agentpod-${randomBytes(4).toString('hex')}`);
  try {
    await pipeline(source, meter.meter, createWriteStream(partial, { flags: 'wx' })).catch((error: unknown) => {
      throw broken(error, 'download');
    });
    checkComplete();
    await rename(partial, destination);
  } catch (error) {
    await unlink(partial).catch(() => undefined);
    throw error;
  } finally {
    meter.finish();
  }
  const bytes = meter.bytes();
  ctx.out.result({ from: formatRef(ref), to: destination, bytes, version }, () => {
    return `downloaded ${clean(formatRef(ref))} to ${clean(destination)} (${formatBytes(bytes)})\n`;
  });
  return EXIT.ok;
}

export const filesGetCommand = defineCommand({
  path: ['files', 'get'],
  summary: 'Download a file from a pod’s volume (streamed) to a local file, or to stdout with -',
  args: ['tenant/pod:path', 'local?'],
  details:
    '<local> is a file or a directory; by default the file’s own name in the current directory. The file is\n' +
    'written under a temporary name and renamed once complete. A progress line shows on a terminal.',
  run: (ctx, { args }) => download(ctx, parseFileRef(args['tenant/pod:path']), args.local),
});

export const filesPutCommand = defineCommand({
  path: ['files', 'put'],
  summary: 'Upload a local file (or stdin with -) into a pod’s volume, streamed',
  args: ['local', 'tenant/pod:path'],
  options: {
    'if-version': {
      type: 'string',
      value: 'V',
      description: 'replace the file only if it still has this version (from ls --json or get); else conflict',
    },
    mode: { type: 'string', value: 'MODE', description: 'the new file’s mode, octal (e.g. 600)' },
    'no-overwrite': { type: 'boolean', description: 'fail (conflict) if the file exists' },
  },
  details:
    'A <path> ending in / is a directory: the file keeps its local name there. The upload goes to a temporary\n' +
    'file beside <path> that replaces it only once complete.',
  async run(ctx, { args, options }) {
    const target = parseFileRef(args['tenant/pod:path']);
    const fromStdin = args.local === '-';
    if (target.path.endsWith('/')) {
      if (fromStdin) throw usageError('with - (stdin), <path> must name the file, not a directory');
      target.path += basename(args.local);
    }
    let size: number | undefined;
    let source: NodeJS.ReadableStream;
    if (fromStdin) source = ctx.io.stdin;
    else {
      const found = await stat(args.local).catch(() => undefined);
      if (!found?.isFile()) throw usageError(`${args.local}: not a file`);
      size = found.size;
      source = createReadStream(args.local);
    }
    const meter = progress(ctx.io.stderr, formatRef(target), size);
    let readFailure: unknown;
    // Read errors end the request body with that error, which fails the upload (the agent then discards it).
    const counted = pipe(source, meter.meter, (error) => {
      if (error) readFailure = error;
    });
    const ifVersion = options['if-version'];
    const client = await ctx.client();
    let entry: Awaited<ReturnType<typeof client.call<'uploadPodFile'>>>;
    try {
      entry = await client.call(
        'uploadPodFile',
        {
          params: paramsOf(target),
          query: { path: target.path, mode: options.mode, overwrite: options['no-overwrite'] ? 'false' : 'true' },
        },
        {
          labels: { ...FILE_REF_LABELS, mode: '--mode' },
          timeoutMs: null,
          headers: ifVersion === undefined ? {} : { 'if-match': `"${ifVersion}"` },
          stream: {
            body: Readable.toWeb(counted) as unknown as ReadableStream<Uint8Array>,
            contentType: 'application/octet-stream',
            ...(size === undefined ? {} : { length: size }),
          },
        },
      );
    } catch (error) {
      if (readFailure !== undefined) throw new AppError('invalid', `cannot read ${args.local}: ${String(readFailure)}`);
      throw broken(error, 'upload');
    } finally {
      meter.finish();
    }
    ctx.out.result(entry, () => {
      return `uploaded ${formatBytes(entry.size)} to ${clean(formatRef({ ...target, path: entry.path }))} (version ${clean(entry.version)})\n`;
    });
    return EXIT.ok;
  },
});
