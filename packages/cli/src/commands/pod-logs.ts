import { ApiError, AppError, LogLine } from '@agentpod/contracts';
import { defineCommand, usageError } from '../args.ts';
import type { Context } from '../context.ts';
import { EXIT } from '../output.ts';
import { podRefArg } from './pod-flags.ts';

/*
 * `pod logs`: the container's lines as its node's engine keeps them. stdout lines go to stdout and stderr lines to
 * stderr, as `docker logs` does; with --json every line is one LogLine object on stdout (NDJSON). Following
 * streams until Ctrl-C or until the container stops.
 */

// A pod's output is not ours: control characters (terminal escapes) are shown, never obeyed. Tabs pass.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\p{Cf}]/gu;
export const cleanLogText = (text: string): string =>
  text.replace(UNSAFE, (char) => `\\u{${char.codePointAt(0)?.toString(16)}}`);

/** Lines of a streamed body as they arrive. */
async function* ndjsonLines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffer = '';
  for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    for (let index = buffer.indexOf('\n'); index >= 0; index = buffer.indexOf('\n')) {
      yield buffer.slice(0, index);
      buffer = buffer.slice(index + 1);
    }
  }
  if (buffer !== '') yield buffer;
}

function printLine(ctx: Context, line: LogLine): void {
  if (ctx.out.json) ctx.io.stdout.write(`${JSON.stringify(line)}\n`);
  else (line.stream === 'stderr' ? ctx.io.stderr : ctx.io.stdout).write(`${cleanLogText(line.text)}\n`);
}

/** One streamed line: a LogLine, or the gateway's last `{ error }` when the stream failed. */
function parseStreamed(text: string): LogLine | AppError | undefined {
  if (text.trim() === '') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return new AppError('internal', `the log stream carried a line that is not JSON: ${text.slice(0, 80)}`);
  }
  const error = ApiError.safeParse(json);
  if (error.success) return new AppError(error.data.error.code, error.data.error.message);
  const line = LogLine.safeParse(json);
  return line.success ? line.data : new AppError('internal', 'the log stream carried a line that is not a log line');
}

export const podLogsCommand = defineCommand({
  path: ['pod', 'logs'],
  summary: "A pod's logs, from its node",
  args: ['tenant/pod'],
  options: {
    tail: { type: 'string', value: 'N', description: 'the last N lines (0-10000, default 100)' },
    follow: { type: 'boolean', short: 'f', description: 'keep streaming new lines until interrupted (Ctrl-C)' },
  },
  async run(ctx, { args, options }) {
    const key = podRefArg(args['tenant/pod']);
    if (options.tail !== undefined && !/^[0-9]{1,5}$/.test(options.tail)) {
      throw usageError(`invalid --tail ${options.tail}: must be a number of lines, 0-10000`);
    }
    const input = {
      params: { tenant: key.tenantId, pod: key.podId },
      query: { tail: options.tail, follow: options.follow ? 'true' : 'false' },
    };
    const labels = { tail: '--tail', tenant: '<tenant>/<pod>', pod: '<tenant>/<pod>' };
    const client = await ctx.client();
    if (!options.follow) {
      const { lines } = await client.call('podLogs', input, { labels });
      for (const line of lines) printLine(ctx, line);
      return EXIT.ok;
    }
    try {
      const response = await client.open('podLogs', input, { labels, timeoutMs: null });
      if (!response.body) return EXIT.ok;
      for await (const text of ndjsonLines(response.body)) {
        const item = parseStreamed(text);
        if (item instanceof AppError) throw item;
        if (item) printLine(ctx, item);
      }
    } catch (error) {
      // Ctrl-C is the normal way to stop following.
      if (ctx.io.signal.aborted) return EXIT.ok;
      if (error instanceof AppError) throw error;
      throw new AppError('unavailable', `the log stream from ${client.baseUrl} broke: ${(error as Error).message}`);
    }
    return EXIT.ok;
  },
});
