import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AiStreamChunk } from '@agentpod/contracts';
import { readAnswer } from './answer-reader.ts';
import { readChunk } from './chunk.ts';
import { NdjsonLines } from './ndjson.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const MESSAGE_ID = 'msg_0123456789abcdefghij';

/** A response body that delivers these pieces as separate network chunks. */
const bodyOf = (pieces: Uint8Array[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const piece of pieces) controller.enqueue(piece);
      controller.close();
    },
  });

/** Splits bytes at every given offset. */
const splitAt = (all: Uint8Array, offsets: number[]) =>
  [0, ...offsets, all.length].slice(1).map((end, i, ends) => all.slice(i === 0 ? 0 : ends[i - 1], end));

describe('NDJSON lines of an answer', () => {
  test('lines split across network chunks come out whole, blank lines skipped', () => {
    const lines = new NdjsonLines();
    assert.deepEqual(lines.push(bytes('{"t":"delta","te')), []);
    assert.deepEqual(lines.push(bytes('xt":"a"}\n\n{"t":"delta",')), ['{"t":"delta","text":"a"}']);
    assert.deepEqual(lines.push(bytes('"text":"b"}\n')), ['{"t":"delta","text":"b"}']);
    assert.deepEqual(lines.end(), []);
  });

  test('a multi-byte UTF-8 character split between chunks is decoded once, whole', () => {
    const line = '{"t":"delta","text":"né 🚀 ok"}\n';
    const all = bytes(line);
    const rocket = all.indexOf(0xf0);
    for (const cut of [all.indexOf(0xc3) + 1, rocket + 1, rocket + 2, rocket + 3]) {
      const lines = new NdjsonLines();
      const got = splitAt(all, [cut]).flatMap((piece) => lines.push(piece));
      assert.deepEqual(got, [line.trimEnd()], `cut at byte ${cut}`);
    }
  });

  test('every byte in its own chunk still gives the same lines', () => {
    const text = '{"t":"delta","text":"日本語"}\n{"t":"delta","text":"x"}\n';
    const lines = new NdjsonLines();
    const got = [...bytes(text)].flatMap((byte) => lines.push(Uint8Array.of(byte)));
    assert.deepEqual(got, text.trimEnd().split('\n'));
  });

  test('a last line without its newline is handed on when the body ends', () => {
    const lines = new NdjsonLines();
    assert.deepEqual(lines.push(bytes('{"t":"delta","text":"a"}')), []);
    assert.deepEqual(lines.end(), ['{"t":"delta","text":"a"}']);
  });
});

describe('chunks read without zod, held to the contract', () => {
  const valid: unknown[] = [
    { t: 'delta', text: 'Hello **world**' },
    { t: 'delta', text: '' },
    { t: 'done', messageId: MESSAGE_ID, usage: { promptTokens: 12, completionTokens: 3 } },
    {
      t: 'done',
      messageId: MESSAGE_ID,
      usage: { promptTokens: 0, completionTokens: 0 },
      stopped: true,
      commands: [{ command: 'docker logs web', explanation: 'see why it exits' }],
    },
    { t: 'error', error: { code: 'unavailable', message: 'The AI provider cannot be reached.' } },
  ];
  test('what the schema accepts is read as the schema reads it', () => {
    for (const value of valid) assert.deepEqual(readChunk(JSON.stringify(value)), AiStreamChunk.parse(value));
  });

  const invalid: unknown[] = [
    'not json',
    null,
    [],
    { t: 'delta' },
    { t: 'delta', text: 3 },
    { t: 'done', messageId: 'nope', usage: { promptTokens: 1, completionTokens: 1 } },
    { t: 'done', messageId: MESSAGE_ID, usage: { promptTokens: -1, completionTokens: 1 } },
    { t: 'done', messageId: MESSAGE_ID, usage: { promptTokens: 1.5, completionTokens: 1 } },
    { t: 'done', messageId: MESSAGE_ID, usage: { promptTokens: 1, completionTokens: 1 }, commands: [{ command: 1 }] },
    { t: 'error', error: { code: 'internal' } },
    { t: 'tool_call', name: 'rm' },
  ];
  test('anything else is skipped, and what is read always passes the schema', () => {
    for (const value of invalid) {
      const line = typeof value === 'string' ? value : JSON.stringify(value);
      assert.equal(readChunk(line), undefined, line);
    }
    const oddCode = readChunk('{"t":"error","error":{"code":"teapot","message":"short and stout"}}');
    assert.deepEqual(oddCode, { t: 'error', error: { code: 'internal', message: 'short and stout' } });
    assert.ok(AiStreamChunk.safeParse(oddCode).success);
  });
});

describe('reading an answer body', () => {
  const ndjson = (...chunks: unknown[]) => bytes(chunks.map((chunk) => `${JSON.stringify(chunk)}\n`).join(''));

  test('chunks are handed on as they come; done ends the answer, anything after it is ignored', async () => {
    const all = ndjson(
      { t: 'delta', text: 'Ré' },
      { t: 'delta', text: 'sumé' },
      { t: 'done', messageId: MESSAGE_ID, usage: { promptTokens: 5, completionTokens: 2 } },
      { t: 'delta', text: 'late' },
    );
    const seen: AiStreamChunk[] = [];
    const end = await readAnswer(bodyOf(splitAt(all, [7, 30, 31, 50])), (chunk) => seen.push(chunk));
    assert.equal(end, 'finished');
    assert.deepEqual(
      seen.map((chunk) => chunk.t),
      ['delta', 'delta', 'done'],
    );
    assert.equal(seen.map((chunk) => (chunk.t === 'delta' ? chunk.text : '')).join(''), 'Résumé');
  });

  test('an error chunk ends the answer', async () => {
    const all = ndjson({ t: 'error', error: { code: 'timeout', message: 'The model did not answer in time.' } });
    const seen: AiStreamChunk[] = [];
    assert.equal(await readAnswer(bodyOf([all]), (chunk) => seen.push(chunk)), 'finished');
    assert.equal(seen[0]?.t, 'error');
  });

  test('a body that ends without done or error was cut off', async () => {
    const seen: AiStreamChunk[] = [];
    assert.equal(await readAnswer(bodyOf([ndjson({ t: 'delta', text: 'half' })]), (chunk) => seen.push(chunk)), 'cut');
    assert.equal(seen.length, 1);
  });
});
