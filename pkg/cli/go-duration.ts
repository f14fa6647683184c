// Go's time.ParseDuration syntax ("8760h", "1h30m", "1.5s", "-2m", "0"), used by nebula-cert's -duration and by
// Nebula's config. The result is in seconds (fractional allowed); Go's int64-nanosecond range is enforced.

export class GoDurationError extends Error {
  override name = 'GoDurationError';
  readonly code = 'EDURATION';
}

const UNIT_NANOS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 micro sign
  'μs': 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const TERM = /(\d*)(?:\.(\d*))?([^\d.]+)/y;
const MAX_NANOS = 2 ** 63; // exclusive bound of int64 nanoseconds, as far as a double can tell

export function parseGoDuration(text: string): number {
  const fail = (): never => {
    throw new GoDurationError(`invalid duration ${JSON.stringify(text)}`);
  };
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') fail();
  let nanos = 0;
  TERM.lastIndex = 0;
  while (TERM.lastIndex < s.length) {
    const m = TERM.exec(s);
    if (!m) fail();
    const [, whole, frac, unit] = m!;
    if (whole === '' && (frac === undefined || frac === '')) fail();
    const scale = UNIT_NANOS[unit];
    if (scale === undefined) throw new GoDurationError(`unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(text)}`);
    nanos += Number(whole || '0') * scale + (frac ? Number(`0.${frac}`) * scale : 0);
  }
  if (nanos >= MAX_NANOS) fail();
  return (sign * nanos) / 1e9;
}
