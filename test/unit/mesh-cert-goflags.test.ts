import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGoDuration } from '../../pkg/cli/go-duration.js';
import { normalizeGoFlags } from '../../pkg/cli/goflags.js';

describe('normalizeGoFlags', () => {
  it('turns one-dash long flags into two-dash flags, with or without =', () => {
    assert.deepEqual(normalizeGoFlags(['-name', 'x', '-ip=10.0.0.1/8', '-json']), ['--name', 'x', '--ip=10.0.0.1/8', '--json']);
  });

  it('leaves two-dash flags, bare values, a lone dash and dash-digit tokens alone', () => {
    assert.deepEqual(normalizeGoFlags(['--name', 'x', 'value', '-', '-5']), ['--name', 'x', 'value', '-', '-5']);
  });

  it('leaves everything after a bare -- untouched', () => {
    assert.deepEqual(normalizeGoFlags(['-a', '--', '-b', 'c']), ['--a', '--', '-b', 'c']);
  });

  it('with known booleans, binds the next argument to a value flag even when it starts with a dash', () => {
    assert.deepEqual(
      normalizeGoFlags(['-duration', '-1h', '-json', '-name', '--x', '-path=p'], { booleanFlags: ['json'] }),
      ['--duration=-1h', '--json', '--name=--x', '--path=p'],
    );
  });

  it('with known booleans, leaves a value flag at the end without a value', () => {
    assert.deepEqual(normalizeGoFlags(['-name'], { booleanFlags: [] }), ['--name']);
  });
});

describe('parseGoDuration', () => {
  it('reads Go duration syntax into seconds', () => {
    const cases: [string, number][] = [
      ['8760h', 8760 * 3600],
      ['1h30m', 5400],
      ['90s', 90],
      ['1.5s', 1.5],
      ['500ms', 0.5],
      ['2us', 2e-6],
      ['3µs', 3e-6],
      ['10ns', 1e-8],
      ['-2m', -120],
      ['+1h', 3600],
      ['0', 0],
      ['.5h', 1800],
      ['1h0m0s', 3600],
    ];
    for (const [text, seconds] of cases) assert.equal(parseGoDuration(text), seconds, text);
  });

  it('refuses numbers without units, unknown units, empty text and values beyond int64 nanoseconds', () => {
    for (const text of ['', '1', 'h', '1d', '1.5.3h', '-', '1h x', '2562048h', ' 1h']) {
      assert.throws(() => parseGoDuration(text), { code: 'EDURATION' }, text);
    }
    assert.equal(parseGoDuration('2562047h'), 2562047 * 3600);
  });
});
