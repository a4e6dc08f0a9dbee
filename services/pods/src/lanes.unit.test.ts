import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Lanes } from './lanes.ts';

describe('lanes', () => {
  test('work for one key runs one at a time, in order, even when some fails; other keys do not wait', async () => {
    const lanes = new Lanes();
    const log: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = lanes.run('a', async () => {
      log.push('a1 start');
      await gate;
      log.push('a1 end');
      throw new Error('a1 failed');
    });
    const second = lanes.run('a', async () => {
      log.push('a2');
      return 2;
    });
    const other = lanes.run('b', async () => {
      log.push('b1');
      return 'b';
    });
    assert.equal(await other, 'b');
    release();
    await assert.rejects(first, /a1 failed/);
    assert.equal(await second, 2);
    assert.deepEqual(log, ['a1 start', 'b1', 'a1 end', 'a2']);
    assert.equal(lanes.size, 0);
  });
});
