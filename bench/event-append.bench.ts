import type { RequestMeta } from '@agentpod/contracts';
import { type AggregatePosition, EMPTY_POSITION, EventStore, ensureStreams } from '@agentpod/kit';
import { startNatsServer } from '@agentpod/kit/testing';
import { type JetStreamClient, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { defineBenchmark, median, ratePerSecond, round3, spread } from './harness.ts';

/*
 * Sequential appends through the kit's EventStore (one event per append, conditional on the aggregate's last
 * sequence, de-duplicated by Msg-Id) against plain awaited JetStream publishes of the same bytes, on one
 * private nats-server and one stream created from the kit's streamConfig. The difference is what the kit
 * adds per event: building the envelope, the expectation and Msg-Id headers, and the server's checks.
 */

const ROUNDS = 6;
const PER_ROUND = 1_500;
const WARM_UP = 500;
/** Appends rotate over this many aggregates, like a service serving many of them. */
const AGGREGATES = 50;

const meta: RequestMeta = { actor: { kind: 'system', id: 'bench' }, correlationId: 'bench-event-append' };

export default defineBenchmark({
  name: 'event-append',
  description: 'sequential EventStore.append vs awaited js.publish, appends/s on one private nats-server',
  target: { ratio: '>=', value: 0.5 },
  async run({ defer, log, signal }) {
    const server = await startNatsServer();
    defer(() => server.stop());
    const nc = await connect({ servers: server.url });
    defer(() => nc.close());
    const jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, ['pods']);
    const js: JetStreamClient = jetstream(nc);
    const store = new EventStore(js, jsm);

    const positions = new Map<string, AggregatePosition>();
    let appended = 0;
    const kitAppends = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const aggregateId = `kit-${appended % AGGREGATES}`;
        const { position } = await store.append(
          'pods',
          aggregateId,
          [{ type: 'BenchRecorded', data: { n: appended } }],
          { expected: positions.get(aggregateId) ?? EMPTY_POSITION, meta, now: new Date() },
        );
        positions.set(aggregateId, position);
        appended++;
      }
    };

    // The baseline publishes the bytes of a real envelope, so both sides move the same payload size.
    await kitAppends(1);
    const [sample] = await store.read('pods', 'kit-0');
    if (!sample) throw new Error('the first append is not readable');
    const payload = new TextEncoder().encode(JSON.stringify(sample.envelope));
    let published = 0;
    const rawPublishes = async (count: number) => {
      for (let i = 0; i < count; i++) {
        await js.publish(`pods.evt.raw-${published % AGGREGATES}`, payload);
        published++;
      }
    };

    await kitAppends(WARM_UP);
    await rawPublishes(WARM_UP);

    // Alternate which side goes first, so neither gains from a warmer cache or a fresher file block.
    const kit: number[] = [];
    const raw: number[] = [];
    for (let round = 0; round < ROUNDS && !signal.aborted; round++) {
      const sides = [
        async () => kit.push(await ratePerSecond(PER_ROUND, () => kitAppends(PER_ROUND))),
        async () => raw.push(await ratePerSecond(PER_ROUND, () => rawPublishes(PER_ROUND))),
      ];
      for (const side of round % 2 === 0 ? sides : sides.reverse()) await side();
      log(`round ${round + 1}/${ROUNDS}: kit ${Math.round(kit.at(-1) ?? 0)}/s, raw ${Math.round(raw.at(-1) ?? 0)}/s`);
    }
    if (signal.aborted) throw new Error('interrupted');

    const value = median(kit);
    const baseline = median(raw);
    return {
      value: Math.round(value),
      unit: 'appends/s',
      baseline: Math.round(baseline),
      ratio: round3(value / baseline),
      notes:
        `median of ${ROUNDS} alternating rounds of ${PER_ROUND} sequential awaited appends (after ${WARM_UP} ` +
        `warm-up each), ${AGGREGATES} aggregates, ${payload.length} B envelopes, one file stream (streamConfig) ` +
        `on a private nats-server; kit per round ${spread(kit)}/s, raw ${spread(raw)}/s`,
    };
  },
});
