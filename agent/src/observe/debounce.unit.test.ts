import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { Debouncer } from './debounce.ts';

describe('inventory debouncer', () => {
  test('fires once after a burst has been quiet for the settle time', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const fire = mock.fn();
    const debouncer = new Debouncer(fire, 500, 5_000);
    debouncer.trigger();
    t.mock.timers.tick(400);
    debouncer.trigger();
    t.mock.timers.tick(400);
    assert.equal(fire.mock.callCount(), 0);
    t.mock.timers.tick(100);
    assert.equal(fire.mock.callCount(), 1);
    t.mock.timers.tick(10_000);
    assert.equal(fire.mock.callCount(), 1);
  });

  test('a burst that never settles still fires at the deadline', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const fire = mock.fn();
    const debouncer = new Debouncer(fire, 500, 2_000);
    for (let i = 0; i < 10; i++) {
      debouncer.trigger();
      t.mock.timers.tick(300);
    }
    assert.equal(fire.mock.callCount(), 1);
  });

  test('cancel forgets a pending burst', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const fire = mock.fn();
    const debouncer = new Debouncer(fire, 500, 2_000);
    debouncer.trigger();
    debouncer.cancel();
    t.mock.timers.tick(5_000);
    assert.equal(fire.mock.callCount(), 0);
  });
});
