import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jsonLines, LogDemuxer, toRuntimeEvent } from './streams.ts';

const frame = (stream: 1 | 2, text: string | Buffer) => {
  const body = typeof text === 'string' ? Buffer.from(text) : text;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
};
const T = '2026-01-01T00:00:00.000000001Z';

describe('LogDemuxer', () => {
  test('splits frames into lines per stream, with timestamps', () => {
    const demuxer = new LogDemuxer();
    const lines = demuxer.push(Buffer.concat([frame(1, `${T} out one\n`), frame(2, `${T} err one\n${T} err two\n`)]));
    assert.deepEqual(lines, [
      { stream: 'stdout', time: T, text: 'out one' },
      { stream: 'stderr', time: T, text: 'err one' },
      { stream: 'stderr', time: T, text: 'err two' },
    ]);
    assert.deepEqual(demuxer.end(), []);
  });

  test('keeps partial frames, partial lines and split UTF-8 across chunks, byte by byte', () => {
    const bytes = Buffer.concat([frame(1, `${T} héllo `), frame(2, `${T} e\n`), frame(1, 'wörld\nrest')]);
    const demuxer = new LogDemuxer();
    const lines = [...bytes].flatMap((byte) => demuxer.push(Buffer.from([byte])));
    lines.push(...demuxer.end());
    assert.deepEqual(
      lines.map((line) => `${line.stream}:${line.text}`),
      ['stderr:e', 'stdout:héllo wörld', 'stdout:rest'],
    );
  });

  test('a TTY container’s raw output is read as stdout', () => {
    const demuxer = new LogDemuxer(false);
    assert.deepEqual(demuxer.push(Buffer.from('plain output\r\nsecond')), [
      { stream: 'stdout', time: '', text: 'plain output' },
    ]);
    assert.deepEqual(demuxer.end(), [{ stream: 'stdout', time: '', text: 'second' }]);
    const short = new LogDemuxer(false);
    assert.deepEqual(short.push(Buffer.from('hi')), []);
    assert.deepEqual(short.end(), [{ stream: 'stdout', time: '', text: 'hi' }]);
  });

  test('a runaway line is cut instead of growing without bound', () => {
    const demuxer = new LogDemuxer(false);
    const lines = demuxer.push(frame(1, 'x'.repeat(200 * 1024)));
    assert.equal(lines.length, 3);
    assert.ok(lines.every((line) => line.text.length === 64 * 1024));
  });
});

describe('Docker events', () => {
  test('newline-delimited JSON split anywhere', async () => {
    async function* chunks() {
      yield Buffer.from('{"a":1}\n{"b"');
      yield Buffer.from(':2}\n\n{"c":3}');
    }
    const out = [];
    for await (const item of jsonLines(chunks())) out.push(item);
    assert.deepEqual(out, [{ a: 1 }, { b: 2 }, { c: 3 }]);
  });

  test('a die event carries the pod, the generation and the exit code', () => {
    const attributes = {
      name: 'agentpod-acme_web-g2',
      exitCode: '137',
      'agentpod.pod': 'acme/web',
      'agentpod.tenant': 'acme',
      'agentpod.generation': '2',
    };
    const event = toRuntimeEvent({
      Type: 'container',
      Action: 'die',
      Actor: { ID: 'abc', Attributes: attributes },
      time: 1_767_225_600,
    });
    assert.deepEqual(event, {
      action: 'die',
      id: 'abc',
      name: 'agentpod-acme_web-g2',
      tenantId: 'acme',
      podId: 'web',
      generation: 2,
      exitCode: 137,
      signal: null,
      time: '2026-01-01T00:00:00.000Z',
    });
    const kill = toRuntimeEvent({
      Type: 'container',
      Action: 'kill',
      Actor: { ID: 'abc', Attributes: { signal: '9' } },
    });
    assert.equal(kill?.signal, '9');
    assert.equal(toRuntimeEvent({ Type: 'container', Action: 'exec_start: sh', Actor: {} }), null);
    assert.equal(toRuntimeEvent({ Type: 'network', Action: 'connect' }), null);
  });
});
