import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError, type RequestMeta } from '@agentpod/contracts';
import { z } from 'zod';
import { parseRequest, toErrorBody } from './handlers.ts';

const meta: RequestMeta = { actor: { kind: 'user', id: 'u-1' }, correlationId: 'corr-1', tenantId: 't-1' };
const Input = z.object({ name: z.string().min(1), count: z.number().int().default(1) });
const bytes = (value: string) => new TextEncoder().encode(value);
const body = (data: unknown, requestMeta: unknown = meta) => bytes(JSON.stringify({ meta: requestMeta, data }));

/** Runs `fn`, which must throw an AppError, and returns it. */
function appError(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected an AppError');
}

describe('parseRequest', () => {
  test('returns the meta and the data as the schema parses it', () => {
    assert.deepEqual(parseRequest(body({ name: 'ada' }), Input, 1_000), { meta, data: { name: 'ada', count: 1 } });
  });

  test('a body of exactly the limit is parsed; one byte more is invalid without being parsed', () => {
    const valid = JSON.stringify({ meta, data: { name: 'ada' } });
    const limit = valid.length + 10;
    // Whitespace after the JSON value is still JSON.
    assert.equal(parseRequest(bytes(valid.padEnd(limit)), Input, limit).data.name, 'ada');
    const error = appError(() => parseRequest(bytes(valid.padEnd(limit + 1)), Input, limit));
    assert.equal(error.code, 'invalid');
    assert.equal(error.message, `request body is ${limit + 1} bytes; the limit is ${limit}`);
  });

  test('the limit counts bytes, not characters', () => {
    const valid = JSON.stringify({ meta, data: { name: 'é'.repeat(50) } });
    const error = appError(() => parseRequest(bytes(valid), Input, valid.length));
    assert.match(error.message, /request body is \d+ bytes; the limit is/);
  });

  test('bytes that are not UTF-8 are invalid, even where a lenient decoder would produce JSON', () => {
    const json = bytes(JSON.stringify({ meta, data: { name: 'X' } }));
    const cases = {
      'a stray 0xff': [0xff],
      'an overlong encoding of "/"': [0xc0, 0xaf],
      'an encoded lone surrogate': [0xed, 0xa0, 0x80],
      'a truncated sequence': [0xe2, 0x82],
    };
    const at = json.lastIndexOf(0x58);
    for (const [what, sequence] of Object.entries(cases)) {
      const broken = new Uint8Array([...json.subarray(0, at), ...sequence, ...json.subarray(at + 1)]);
      const error = appError(() => parseRequest(broken, Input, 1_000));
      assert.equal(error.code, 'invalid', what);
      assert.equal(error.message, 'request body is not valid UTF-8 JSON', what);
    }
  });

  test('text that is not JSON is invalid', () => {
    for (const text of ['', 'hello', '{"meta":', "{'single':'quotes'}", 'NaN']) {
      const error = appError(() => parseRequest(bytes(text), Input, 1_000));
      assert.equal(error.message, 'request body is not valid UTF-8 JSON', JSON.stringify(text));
    }
  });

  test('JSON that is not a request envelope is invalid, with the envelope issues as details', () => {
    for (const json of ['null', '[]', '42', '{"data":{}}']) {
      const error = appError(() => parseRequest(bytes(json), Input, 1_000));
      assert.equal(error.code, 'invalid', json);
      assert.match(error.message, /^invalid request envelope: /, json);
    }
    const error = appError(() => parseRequest(body({ name: 'ada' }, { ...meta, correlationId: '' }), Input, 1_000));
    assert.deepEqual(
      (error.details as { path: string }[]).map((d) => d.path),
      ['meta.correlationId'],
    );
  });

  test('data that the handler schema rejects is invalid, naming each bad field', () => {
    const error = appError(() => parseRequest(body({ name: '', count: 1.5 }), Input, 1_000));
    assert.equal(error.code, 'invalid');
    assert.match(error.message, /^invalid input: name: /);
    assert.deepEqual(
      (error.details as { path: string }[]).map((d) => d.path),
      ['name', 'count'],
    );
  });
});

describe('toErrorBody', () => {
  test('a catalogue error crosses as it is, with its details', () => {
    assert.deepEqual(toErrorBody(new AppError('not_found', 'no pod p-1'), 'c'), {
      code: 'not_found',
      message: 'no pod p-1',
    });
    assert.deepEqual(toErrorBody(new AppError('invalid', 'bad', { details: [{ path: 'x' }] }), 'c'), {
      code: 'invalid',
      message: 'bad',
      details: [{ path: 'x' }],
    });
  });

  test('an internal AppError carries the correlation id', () => {
    assert.deepEqual(toErrorBody(new AppError('internal', 'broken invariant'), 'corr-9'), {
      code: 'internal',
      message: 'broken invariant',
      correlationId: 'corr-9',
    });
  });

  test('anything else becomes internal, saying nothing of the error itself', () => {
    for (const thrown of [new Error('password=hunter2'), new TypeError('x is undefined'), 'a string', undefined]) {
      assert.deepEqual(toErrorBody(thrown, 'corr-7'), {
        code: 'internal',
        message: 'internal error; the service log has the details',
        correlationId: 'corr-7',
      });
    }
  });
});
