import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGoDuration as cliSeconds } from '../../pkg/cli/go-duration.js';
import { parseGoDuration as configMs } from '../../pkg/config/duration.js';
import { parseGoDurationNanos } from '../../pkg/duration/go-duration.js';
import { expectOnly, runFuzz } from './helpers/fuzz.js';

const S = 1_000_000_000n;
const M = 60n * S;
const H = 60n * M;
const MAX = (1n << 63n) - 1n;

// Expected values are Go's (time.ParseDuration's documentation and the cases of Go's time_test.go).
const ACCEPTED: [string, bigint][] = [
  ['0', 0n],
  ['-0', 0n],
  ['+0', 0n],
  ['5s', 5n * S],
  ['+5m', 5n * M],
  ['-5s', -5n * S],
  ['1.s', S],
  ['.5s', S / 2n],
  ['1.004s', 1_004_000_000n],
  ['1h2m3s4ms5us6ns', H + 2n * M + 3n * S + 4_000_000n + 5_000n + 6n],
  ['3µs', 3_000n],
  ['3μs', 3_000n],
  ['39h9m14.425s', 39n * H + 9n * M + 14n * S + 425_000_000n],
  ['52763797000ns', 52_763_797_000n],
  ['0.3333333333333333333h', 20n * M],
  ['9007199254740993ns', (1n << 53n) + 1n],
  ['9223372036854775807ns', MAX],
  ['9223372036854775.807us', MAX],
  ['9223372036s854ms775us807ns', MAX],
  ['2562047h47m16.854775807s', MAX],
  ['-9223372036854775808ns', -(1n << 63n)],
  ['-2562047h47m16.854775808s', -(1n << 63n)],
  ['0.100000000000000000000h', 6n * M],
  ['0.830103483285477580700h', 49n * M + 48n * S + 372_539_827n],
  ['000000000000000000000000001s', S],
  // Go stops reading fraction digits once the numerator would pass 63 bits; reading them all gives ...146ns.
  ['0.97169758254055546837756h', 3_498_111_297_145n],
];

const REFUSED = [
  '',
  '3',
  '00',
  '-',
  '+',
  's',
  '.',
  '-.',
  '.s',
  '+.s',
  '1d',
  '1h-2m',
  '1h+2m',
  '--1s',
  '1 s',
  ' 1h',
  '1h ',
  '1.5.3h',
  'ms100',
  '1sec',
  '1S',
  '3000000h',
  '2562048h',
  '9223372036854775808ns',
  '9223372036854775.808us',
  '9223372036854ms775us808ns',
  '2562047h47m16.854775808s',
  '-9223372036854775809ns',
  '-2562047h47m16.854775809s',
  '99999999999999999999999999999999ns',
];

describe('parseGoDurationNanos', () => {
  it('accepts what Go accepts, to the nanosecond', () => {
    for (const [text, nanos] of ACCEPTED) assert.equal(parseGoDurationNanos(text), nanos, text);
  });

  it('refuses what Go refuses, overflow past int64 nanoseconds included', () => {
    for (const text of REFUSED) assert.throws(() => parseGoDurationNanos(text), { code: 'EDURATION' }, text);
  });

  it('names a missing or unknown unit', () => {
    assert.throws(() => parseGoDurationNanos('10'), /missing unit/);
    assert.throws(() => parseGoDurationNanos('10d'), /unknown unit "d"/);
  });

  it('survives random text: a bigint within int64 or its own error, quickly', () => {
    const alphabet = '0123456789..+-hmsnuµμ d';
    runFuzz('go-duration', { iterations: 20_000, ms: 1000, seed: 20 }, (r) => {
      let text = '';
      const n = r.int(40);
      for (let i = 0; i < n; i++) text += alphabet[r.int(alphabet.length)];
      const res = expectOnly(
        () => parseGoDurationNanos(text),
        (e) => (e as { code?: string }).code === 'EDURATION',
        text,
      );
      if (res.ok) assert.ok(res.value >= -(1n << 63n) && res.value <= MAX, text);
    });
  });
});

describe('the two callers of the Go duration parser', () => {
  it('nebula-cert flags get seconds and an EDURATION error', () => {
    assert.equal(cliSeconds('8760h'), 8760 * 3600);
    assert.equal(cliSeconds('2us'), 2e-6);
    assert.equal(cliSeconds('2562047h'), 2562047 * 3600);
    assert.throws(() => cliSeconds('2562048h'), { code: 'EDURATION' });
  });

  it('config gets milliseconds, or undefined for text Go refuses', () => {
    assert.equal(configMs('1h2m3s4ms'), 3_723_004);
    assert.equal(configMs('250us'), 0.25);
    assert.equal(configMs('-0'), 0);
    assert.equal(configMs('2562048h'), undefined);
    assert.equal(configMs('1h-2m'), undefined);
  });
});
