import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bytesPerSecond, formatTick, formatValue, percent, ratio } from './units.ts';

describe('chart units', () => {
  it('reads percents with one decimal below 10 and none above (pods above 100 % use several cores)', () => {
    assert.equal(percent(0), '0 %');
    assert.equal(percent(3.12), '3.1 %');
    assert.equal(percent(42.6), '43 %');
    assert.equal(percent(250), '250 %');
  });

  it('reads a fraction as a percent', () => {
    assert.equal(ratio(0.5), '50 %');
    assert.equal(ratio(0.0123), '1.2 %');
  });

  it('reads rates and sizes in binary units', () => {
    assert.equal(bytesPerSecond(0), '0 B/s');
    assert.equal(bytesPerSecond(1536), '1.5 KiB/s');
    assert.equal(formatValue('bytes', 512 * 1024 * 1024), '512 MiB');
    assert.equal(formatValue('bytesPerSecond', 3 * 1024 ** 3), '3.0 GiB/s');
  });

  it('reads a gap or a missing value as a dash, never as 0', () => {
    for (const unit of ['percent', 'bytes', 'bytesPerSecond', 'ratio'] as const) {
      assert.equal(formatValue(unit, null), '—', unit);
      assert.equal(formatValue(unit, undefined), '—', unit);
      assert.equal(formatValue(unit, Number.NaN), '—', unit);
      assert.equal(formatValue(unit, Number.POSITIVE_INFINITY), '—', unit);
    }
  });

  it('writes short axis ticks', () => {
    assert.equal(formatTick('percent', 50), '50%');
    assert.equal(formatTick('percent', 2.5), '2.5%');
    assert.equal(formatTick('ratio', 0.75), '75%');
    assert.equal(formatTick('bytesPerSecond', 2048), '2.0 KiB/s');
  });
});
