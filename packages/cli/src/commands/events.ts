import { AppError } from '@agentpod/contracts';
import { z } from 'zod';
import { defineCommand } from '../args.ts';
import { clean, EXIT, formatTime } from '../output.ts';

/*
 * Raw events from the log. The gateway answers NDJSON (one envelope per line; with --follow the stream stays open)
 * or, without --follow, possibly one JSON document (`{ events: [...] }` or an array). Either way the CLI prints
 * one line per event, and with --json one envelope per line (NDJSON), so following and listing look the same.
 */

/** The fields the human line shows; anything else an event carries is passed through to --json untouched. */
const EventLine = z.looseObject({
  type: z.string(),
  aggregateId: z.string(),
  tenantId: z.string().nullish(),
  actor: z.object({ kind: z.string(), id: z.string() }).optional(),
  occurredAt: z.string().optional(),
  version: z.number().optional(),
  data: z.unknown(),
});

export function formatEvent(value: unknown): string {
  const parsed = EventLine.safeParse(value);
  if (!parsed.success) return clean(JSON.stringify(value));
  const e = parsed.data;
  return [
    formatTime(e.occurredAt),
    clean(e.type).padEnd(22),
    clean(e.aggregateId),
    e.version === undefined ? '' : `v${e.version}`,
    `tenant=${clean(e.tenantId ?? '-')}`,
    e.actor ? clean(`${e.actor.kind}:${e.actor.id}`) : '-',
    clean(JSON.stringify(e.data ?? null)),
  ]
    .filter((part) => part !== '')
    .join('  ');
}

/** Events out of a whole (non-streamed) answer: NDJSON, a JSON array, or `{ events: [...] }`. */
export function eventsFromText(text: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  try {
    const json: unknown = JSON.parse(trimmed);
    if (Array.isArray(json)) return json;
    if (json && typeof json === 'object' && 'events' in json && Array.isArray(json.events)) return json.events;
    return [json];
  } catch {
    return trimmed.split('\n').flatMap(parseLine);
  }
}

function parseLine(line: string): unknown[] {
  if (line.trim() === '') return []; // keep-alive
  try {
    return [JSON.parse(line)];
  } catch {
    throw new AppError('internal', `the event stream carried a line that is not JSON: ${line.slice(0, 80)}`);
  }
}

/** Lines of a streamed body as they arrive. */
async function* lines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffer = '';
  for await (const chunk of body.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      yield buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf('\n');
    }
  }
  if (buffer !== '') yield buffer;
}

export const eventsCommand = defineCommand({
  path: ['events'],
  summary: 'Raw events from the log (tenant-scoped for non-admins)',
  options: {
    tenant: { type: 'string', value: 'T', description: 'only events of this tenant' },
    aggregate: { type: 'string', value: 'ID', description: 'only events of this aggregate' },
    type: { type: 'string', value: 'X', description: 'only events of this type, e.g. TenantCreated' },
    context: { type: 'string', value: 'C', description: 'identity, tenants, pods, reconciler, monitor, ai or agent' },
    limit: { type: 'string', value: 'N', description: 'at most N events (1-1000, default 100)' },
    follow: { type: 'boolean', short: 'f', description: 'keep streaming new events until interrupted (Ctrl-C)' },
  },
  details: 'Prints one line per event; with --json one JSON envelope per line (NDJSON).',
  async run(ctx, { options }) {
    const follow = options.follow === true;
    const client = await ctx.client();
    const query = {
      tenant: options.tenant,
      aggregate: options.aggregate,
      type: options.type,
      context: options.context,
      limit: options.limit,
      follow: follow ? 'true' : 'false',
    };
    const labels = {
      tenant: '--tenant',
      aggregate: '--aggregate',
      type: '--type',
      context: '--context',
      limit: '--limit',
    };
    // Following has no deadline: it ends on Ctrl-C (which aborts every request) or when the gateway closes it.
    const timeoutMs = follow ? null : undefined;
    const print = (event: unknown) => ctx.out.streamLine(event, () => formatEvent(event));
    try {
      const response = await client.open('events', { query }, { labels, timeoutMs });
      const streamed = follow || (response.headers.get('content-type') ?? '').includes('ndjson');
      if (streamed && response.body) {
        for await (const line of lines(response.body)) parseLine(line).forEach(print);
      } else {
        const events = eventsFromText(await response.text());
        if (events.length === 0 && !ctx.out.json) ctx.out.note('no events');
        events.forEach(print);
      }
    } catch (error) {
      // Ctrl-C while following is the normal way to stop.
      if (ctx.io.signal.aborted) return EXIT.ok;
      if ((error as Error).name === 'TimeoutError') {
        throw new AppError('timeout', `the gateway at ${client.baseUrl} did not finish sending events in time`);
      }
      if (error instanceof AppError) throw error;
      throw new AppError('unavailable', `the event stream from ${client.baseUrl} broke: ${(error as Error).message}`);
    }
    return EXIT.ok;
  },
});
