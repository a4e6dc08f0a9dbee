import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AppError, ErrorReply, MAX_REQUEST_BYTES, Reply, type RequestMeta } from '@agentpod/contracts';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { z } from 'zod';
import { type AggregateDefinition, AggregateRepository, executeCommand, type Loaded } from './aggregate.ts';
import { request } from './client.ts';
import { EventStore } from './event-store.ts';
import { handler, type RequestHandler, serveRequests } from './handlers.ts';
import { ensureStreams } from './streams.ts';
import { startNatsServer, type TestNatsServer } from './testing/index.ts';

const meta: RequestMeta = { actor: { kind: 'system', id: 'test' }, correlationId: 'corr-handlers' };
const encoder = new TextEncoder();

/** Every log line the handlers write, parsed, so a test can find the one with a given correlation id. */
const lines: Record<string, unknown>[] = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });

const Greet = z.object({ name: z.string().min(1).max(64) }).strict();

const counterEvents = { Bumped: z.object({ by: z.string() }) };
type Counter = { count: number };
const counter: AggregateDefinition<Counter, typeof counterEvents> = {
  context: 'pods',
  events: counterEvents,
  initialState: { count: 0 },
  evolve: (state) => ({ count: state.count + 1 }),
};

/**
 * A repository on which another writer appends right after each of the first `races` loads: the state this
 * replica decides on is always one event stale, so its append conflicts, deterministically.
 */
class RacedRepository extends AggregateRepository<Counter, typeof counterEvents> {
  races: number;
  readonly #rival: AggregateRepository<Counter, typeof counterEvents>;
  readonly #store: EventStore;

  constructor(store: EventStore, races: number) {
    super(store, counter);
    this.#store = store;
    this.#rival = new AggregateRepository(store, counter);
    this.races = races;
  }

  override async load(aggregateId: string): Promise<Loaded<Counter>> {
    const loaded = await super.load(aggregateId);
    if (this.races-- > 0) {
      const rival = await this.#rival.load(aggregateId);
      await this.#store.append('pods', aggregateId, [{ type: 'Bumped', data: { by: 'rival' } }], {
        expected: rival.position,
        meta,
        now: new Date(),
      });
    }
    return loaded;
  }
}

describe('request handlers', () => {
  let server: TestNatsServer;
  let serviceNc: NatsConnection;
  let nc: NatsConnection;
  let store: EventStore;

  before(async () => {
    server = await startNatsServer();
    serviceNc = await connect({ servers: server.url });
    nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(serviceNc);
    await ensureStreams(jsm, ['pods']);
    store = new EventStore(jetstream(serviceNc), jsm);
    const serve = <I, O>(subject: string, requestHandler: RequestHandler<I, O>) =>
      serveRequests({ nc: serviceNc, subject, queue: 'pods', handler: requestHandler, logger });
    serve(
      'pods.cmd.greet',
      handler(Greet, async ({ name }) => ({ greeting: `hello ${name}` })),
    );
    serve(
      'pods.cmd.explode',
      handler(z.unknown(), async () => {
        throw new Error('connection to postgres://admin:hunter2@db failed');
      }),
    );
    serve(
      'pods.qry.missing',
      handler(z.unknown(), async () => {
        throw new AppError('not_found', 'pod p-1 does not exist');
      }),
    );
    await serviceNc.flush();
  });
  after(async () => {
    await nc?.close();
    await serviceNc?.close();
    await server?.stop();
  });

  /** Sends raw bytes and returns the parsed reply. */
  const raw = async (subject: string, body: string | Uint8Array) => {
    const msg = await nc.request(subject, body, { timeout: 10_000 });
    return Reply.parse(msg.json());
  };
  const envelope = (data: unknown) => JSON.stringify({ meta, data });

  test('garbage on a command subject gets an invalid reply and the service keeps serving', async () => {
    // `{"meta":…,"data":{"name":"X"}}` with the X swapped for the byte 0xff: JSON if decoded leniently, not UTF-8.
    const badUtf8 = encoder.encode(envelope({ name: 'X' }));
    badUtf8[badUtf8.lastIndexOf(0x58)] = 0xff;
    const huge = envelope({ name: 'x'.repeat(2 * 1024 * 1024) });
    assert.ok(huge.length > MAX_REQUEST_BYTES && huge.length < 8 * 1024 * 1024, 'reaches the handler');

    const cases: [string, string | Uint8Array, RegExp, string[]?][] = [
      ['not JSON', 'hello, service', /not valid UTF-8 JSON/],
      ['empty body', '', /not valid UTF-8 JSON/],
      ['truncated JSON', envelope({ name: 'ada' }).slice(0, -3), /not valid UTF-8 JSON/],
      ['invalid UTF-8', badUtf8, /not valid UTF-8 JSON/],
      ['JSON null', 'null', /invalid request envelope/],
      [
        'JSON without the envelope',
        JSON.stringify({ name: 'ada' }),
        /invalid request envelope: meta/,
        ['data', 'meta'],
      ],
      [
        'an envelope with a bad actor',
        JSON.stringify({ meta: { ...meta, actor: { kind: 'root', id: 'x' } }, data: { name: 'ada' } }),
        /invalid request envelope: meta\.actor\.kind/,
        ['meta.actor.kind'],
      ],
      ['an envelope with wrong data', envelope({ name: 42 }), /invalid input: name/, ['name']],
      ['an envelope with an unknown field', envelope({ name: 'ada', admin: true }), /invalid input/, ['(root)']],
      ['a 2 MB body', huge, new RegExp(`request body is ${huge.length} bytes; the limit is ${MAX_REQUEST_BYTES}`)],
    ];
    // All at once, too: one bad message must not hold up or stop the others.
    const replies = await Promise.all(cases.map(([, body]) => raw('pods.cmd.greet', body)));
    for (const [index, [what, , message, paths]] of cases.entries()) {
      const reply = ErrorReply.safeParse(replies[index]);
      assert.ok(reply.success, `${what}: an error reply, got ${JSON.stringify(replies[index]).slice(0, 200)}`);
      const { error } = reply.data;
      assert.equal(error.code, 'invalid', what);
      assert.match(error.message, message, what);
      if (paths) assert.deepEqual((error.details as { path: string }[]).map((d) => d.path).sort(), paths, what);
    }

    assert.deepEqual(await raw('pods.cmd.greet', envelope({ name: 'ada' })), {
      ok: true,
      result: { greeting: 'hello ada' },
    });
    assert.deepEqual(await request(nc, 'pods.cmd.greet', { name: 'grace' }, meta), { greeting: 'hello grace' });
  });

  test('a handler throwing a plain Error answers internal with the correlation id, and no stack or secret', async () => {
    const correlationId = 'corr-explode-1';
    const reply = await raw('pods.cmd.explode', JSON.stringify({ meta: { ...meta, correlationId }, data: {} }));
    assert.deepEqual(reply, {
      ok: false,
      error: { code: 'internal', message: 'internal error; the service log has the details', correlationId },
    });
    // The details are in the log line carrying the same correlation id.
    const line = lines.find((l) => l.correlationId === correlationId);
    assert.ok(line, 'a log line with the correlation id');
    assert.equal(line.level, 50);
    assert.match(String((line.err as { stack?: string }).stack), /hunter2[\s\S]*\n\s+at /);

    await assert.rejects(request(nc, 'pods.cmd.explode', {}, meta), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, 'internal');
      assert.doesNotMatch(error.message, /hunter2|\bat\b/);
      return true;
    });
  });

  test('an AppError thrown by a handler reaches the caller as it is', async () => {
    assert.deepEqual(await raw('pods.qry.missing', envelope({})), {
      ok: false,
      error: { code: 'not_found', message: 'pod p-1 does not exist' },
    });
    await assert.rejects(request(nc, 'pods.qry.missing', {}, meta), { code: 'not_found' });
  });

  test('the client says unavailable when nothing serves a subject and timeout when nothing replies', async () => {
    await assert.rejects(request(nc, 'pods.cmd.nobody', {}, meta), { code: 'unavailable' });
    const silent = serviceNc.subscribe('pods.cmd.silent');
    try {
      await serviceNc.flush();
      await assert.rejects(request(nc, 'pods.cmd.silent', {}, meta, { timeoutMs: 200 }), { code: 'timeout' });
    } finally {
      silent.unsubscribe();
    }
  });

  test('a command that keeps losing the race gets conflict after its bounded attempts', async () => {
    const repository = new RacedRepository(store, Number.POSITIVE_INFINITY);
    const seen: number[] = [];
    const subscription = serveRequests({
      nc: serviceNc,
      subject: 'pods.cmd.bump',
      queue: 'pods',
      logger,
      handler: handler(z.object({ id: z.string() }), async ({ id }, requestMeta) => {
        const outcome = await executeCommand({
          store,
          repository,
          aggregateId: id,
          meta: requestMeta,
          attempts: 3,
          decide: (state) => {
            seen.push(state.count);
            return [{ type: 'Bumped', data: { by: 'us' } }];
          },
        });
        return outcome.state;
      }),
    });
    try {
      await serviceNc.flush();
      await assert.rejects(request(nc, 'pods.cmd.bump', { id: 'always-raced' }, meta), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, 'conflict');
        assert.match(error.message, /always-raced kept changing .*3 attempts/);
        return true;
      });
      assert.deepEqual(seen, [0, 1, 2], 'three decisions, each on fresh state');
      const stored = await store.read('pods', 'always-raced');
      assert.deepEqual(
        stored.map((e) => e.envelope.data),
        [{ by: 'rival' }, { by: 'rival' }, { by: 'rival' }],
      );

      // Losing fewer races than it has attempts, the command lands on top of the rival's events.
      seen.length = 0;
      repository.races = 2;
      assert.deepEqual(await request(nc, 'pods.cmd.bump', { id: 'raced-twice' }, meta), { count: 3 });
      assert.deepEqual(seen, [0, 1, 2]);
      const landed = await store.read('pods', 'raced-twice');
      assert.deepEqual(
        landed.map((e) => [e.envelope.version, e.envelope.data]),
        [
          [1, { by: 'rival' }],
          [2, { by: 'rival' }],
          [3, { by: 'us' }],
        ],
      );
    } finally {
      subscription.unsubscribe();
    }
  });
});
