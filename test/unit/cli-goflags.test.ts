import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGoDuration } from '../../pkg/cli/go-duration.js';
import { CliError } from '../../pkg/cli/cli-error.js';
import { parseGoFlags, type FlagSpec } from '../../pkg/cli/goflags.js';
import { expectOnly, runFuzz } from './helpers/fuzz.js';

const SPECS: Record<string, FlagSpec> = {
  name: { type: 'string', describe: 'n' },
  duration: { type: 'string', describe: 'd' },
  'out-crt': { type: 'string', describe: 'o', default: 'ca.crt' },
  json: { type: 'boolean', describe: 'j' },
};

describe('parseGoFlags', () => {
  it('reads one- and two-dash flags, with or without =, and fills in defaults', () => {
    const p = parseGoFlags(SPECS, ['-name', 'x', '--duration=1h', '-json']);
    assert.deepEqual(p, {
      values: { name: 'x', duration: '1h', 'out-crt': 'ca.crt', json: true },
      positionals: [],
      help: false,
    });
    assert.deepEqual(parseGoFlags(SPECS, []).values, {
      name: undefined,
      duration: undefined,
      'out-crt': 'ca.crt',
      json: false,
    });
  });

  it('binds the next argument to a value flag even when it starts with a dash, and keeps empty values', () => {
    assert.deepEqual(parseGoFlags(SPECS, ['-duration', '-1h', '-name', '--x']).values.duration, '-1h');
    assert.equal(parseGoFlags(SPECS, ['-duration', '-1h', '-name', '--x']).values.name, '--x');
    assert.equal(parseGoFlags(SPECS, ['-name', '']).values.name, '');
    assert.equal(parseGoFlags(SPECS, ['-name=']).values.name, '');
  });

  it('reads a boolean as Go does: alone, or =true/=false in strconv.ParseBool spellings', () => {
    for (const [arg, want] of [
      ['-json=false', false],
      ['-json=0', false],
      ['-json=F', false],
      ['-json=True', true],
      ['-json=1', true],
    ] as const) {
      assert.equal(parseGoFlags(SPECS, [arg]).values.json, want, arg);
    }
    // A boolean never takes the next argument: it stays a positional.
    assert.deepEqual(parseGoFlags(SPECS, ['-json', 'false']).positionals, ['false']);
    assert.throws(() => parseGoFlags(SPECS, ['-json=yes']), {
      message: 'invalid boolean value "yes" for -json: parse error',
    });
  });

  it('keeps positionals in order between flags, and everything after a bare -- as positionals', () => {
    const p = parseGoFlags(SPECS, ['host', '-name', 'n', '-', '-5', '--', '-json', 'x']);
    assert.deepEqual(p.positionals, ['host', '-', '-5', '-json', 'x']);
    assert.equal(p.values.json, false);
  });

  it('with interspersed off, ends the flags at the first positional, as Go does (the mesh-cert global flags)', () => {
    const p = parseGoFlags(SPECS, ['-json', 'ca', '-name', 'x', '-bogus'], { interspersed: false });
    assert.deepEqual([p.values.json, p.values.name, p.positionals], [true, undefined, ['ca', '-name', 'x', '-bogus']]);
    assert.deepEqual(parseGoFlags(SPECS, ['-h', 'sign'], { interspersed: false }).help, true);
  });

  it('lets the last of repeated flags win', () => {
    assert.equal(parseGoFlags(SPECS, ['-name', 'a', '-name', 'b']).values.name, 'b');
  });

  it("names an undefined flag and a value flag without its value in Go's words", () => {
    assert.throws(
      () => parseGoFlags(SPECS, ['-name', 'x', '-bogus']),
      (e) => e instanceof CliError && e.message === 'flag provided but not defined: -bogus',
    );
    assert.throws(() => parseGoFlags(SPECS, ['--bogus=1']), { message: 'flag provided but not defined: -bogus' });
    assert.throws(() => parseGoFlags(SPECS, ['-json', '-name']), { message: 'flag needs an argument: -name' });
  });

  it('takes -h, -help and --help as a request for help wherever they stand', () => {
    for (const argv of [['-h'], ['-name', 'x', '-help'], ['host', '--help'], ['-h=true']])
      assert.equal(parseGoFlags(SPECS, argv).help, true, argv.join(' '));
    assert.equal(parseGoFlags(SPECS, ['-h=false']).help, false);
    assert.equal(parseGoFlags(SPECS, ['-name', '-h']).help, false, 'a value that looks like -h is still a value');
  });

  it('fuzz: any argument list gives flags of the right types or a CliError, nothing else', () => {
    const tokens = [
      '-name',
      '--name',
      '-name=',
      '-json',
      '-json=',
      '-json=false',
      '-h',
      '--',
      '-',
      '-5',
      '=',
      '-=x',
      '--=',
      'host',
      '',
      '-out-crt',
      '-ç',
      '-x=y=z',
      '---name',
    ];
    runFuzz('goflags', { iterations: 20_000, ms: 800, seed: 0x9f }, (r) => {
      const argv = Array.from({ length: r.int(8) }, () =>
        r.chance(0.2) ? String.fromCharCode(...r.bytes(r.int(6))) : r.pick(tokens),
      );
      const p = expectOnly(
        () => parseGoFlags(SPECS, argv),
        (e) => e instanceof CliError,
        argv.join(' '),
      );
      if (!p.ok) return;
      assert.equal(typeof p.value.values.json, 'boolean');
      for (const k of ['name', 'duration', 'out-crt'])
        assert.ok(['string', 'undefined'].includes(typeof p.value.values[k]), k);
      assert.ok(p.value.positionals.length <= argv.length);
    });
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
