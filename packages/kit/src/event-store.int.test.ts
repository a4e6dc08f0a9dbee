import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AppError, RequestMeta } from '@agentpod/contracts';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ConcurrencyError, EMPTY_POSITION, EventStore } from './event-store.ts';
import { ensureStreams } from './streams.ts';
import { startNatsServer, type TestNatsServer } from './testing/index.ts';

const meta: RequestMeta = { actor: { kind: 'system', id: 'test' }, correlationId: 'corr-1' };
const now = new Date('2026-01-01T00:00:00Z');

describe('event store on JetStream', () => {
  let server: TestNatsServer;
  let nc: NatsConnection;
  let store: EventStore;

  before(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, ['pods']);
    store = new EventStore(jetstream(nc), jsm);
  });
  after(async () => {
    await nc?.close();
    await server?.stop();
  });

  test('ensureStreams is idempotent', async () => {
    const jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, ['pods']);
    await Promise.all([ensureStreams(jsm, ['pods', 'tenants']), ensureStreams(jsm, ['tenants'])]);
    const info = await jsm.streams.info('TENANTS');
    assert.deepEqual(info.config.subjects, ['tenants.evt.>']);
  });

  test('two concurrent appends to a new aggregate: exactly one wins, the other gets conflict', async () => {
    const results = await Promise.allSettled(
      ['a', 'b'].map((writer) =>
        store.append('pods', 'race-new', [{ type: 'Written', data: { writer } }], {
          expected: EMPTY_POSITION,
          meta,
          now,
        }),
      ),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const rejected = results.find((r) => r.status === 'rejected');
    assert.ok(rejected && rejected.reason instanceof ConcurrencyError);
    assert.equal((rejected.reason as AppError).code, 'conflict');
    assert.equal((await store.read('pods', 'race-new')).length, 1);
  });

  test('two concurrent appends at the same version of an existing aggregate: one wins', async () => {
    const first = await store.append('pods', 'race-old', [{ type: 'Written', data: { n: 0 } }], {
      expected: EMPTY_POSITION,
      meta,
      now,
    });
    const results = await Promise.allSettled(
      [1, 2].map((n) =>
        store.append('pods', 'race-old', [{ type: 'Written', data: { n } }], { expected: first.position, meta, now }),
      ),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    assert.equal(results.filter((r) => r.status === 'rejected' && r.reason instanceof ConcurrencyError).length, 1);
    const events = await store.read('pods', 'race-old');
    assert.deepEqual(
      events.map((e) => e.envelope.version),
      [1, 2],
    );
  });

  test('a publish retried with the same Msg-Id is stored once', async () => {
    const ids = ['0190a000-0000-7000-8000-000000000001'];
    const once = await store.append('pods', 'dedupe', [{ type: 'Written', data: {} }], {
      expected: EMPTY_POSITION,
      meta,
      now,
      ids,
    });
    // The retry does not know the first attempt landed: same id, same expectation.
    const again = await store.append('pods', 'dedupe', [{ type: 'Written', data: {} }], {
      expected: EMPTY_POSITION,
      meta,
      now,
      ids,
    });
    assert.equal(again.position.seq, once.position.seq);
    const events = await store.read('pods', 'dedupe');
    assert.equal(events.length, 1);
    assert.equal(events[0]?.envelope.id, ids[0]);
  });

  test('reads one aggregate in order, skipping other aggregates, from a given sequence', async () => {
    let position = EMPTY_POSITION;
    for (let n = 0; n < 5; n++) {
      await store
        .append('pods', 'other', [{ type: 'Written', data: { n } }], { expected: EMPTY_POSITION, meta, now })
        .catch(() => {});
      ({ position } = await store.append('pods', 'ordered', [{ type: 'Written', data: { n } }], {
        expected: position,
        meta,
        now,
      }));
    }
    const all = await store.read('pods', 'ordered');
    assert.deepEqual(
      all.map((e) => (e.envelope.data as { n: number }).n),
      [0, 1, 2, 3, 4],
    );
    const tail = await store.read('pods', 'ordered', all[2]?.seq);
    assert.deepEqual(
      tail.map((e) => e.envelope.version),
      [4, 5],
    );
    assert.deepEqual(await store.read('pods', 'never-written'), []);
  });
});
