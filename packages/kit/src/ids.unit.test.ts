import assert from 'node:assert/strict';
import { test } from 'node:test';
import { derivedEventId, derivedId, randomId } from './ids.ts';

// Derived ids are stored (aggregate ids, Msg-Ids): these values pin the recipe, so a change to it fails here.
test('derived ids: the same parts give the same, pinned id', () => {
  assert.equal(derivedEventId('delivery', 'x'), '4b885928-ef28-8115-bb2c-675e6e454751');
  assert.equal(derivedId('alr_', ['alert', 'e1']), 'alr_4f84cd57a31c10587fbccd8c');
  assert.notEqual(derivedId('alr_', ['alert', 'e2']), derivedId('alr_', ['alert', 'e1']));
});

test('random ids: the prefix and the asked number of lower-case letters and digits', () => {
  assert.match(randomId('whk_'), /^whk_[a-z0-9]{24}$/);
  assert.match(randomId('ro_', 20), /^ro_[a-z0-9]{20}$/);
  assert.notEqual(randomId('x_'), randomId('x_'));
});
