// Go's time.ParseDuration syntax ("100ms", "1.5s", "1h30m", "-2m", "0"), converted to milliseconds.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3, // U+00B5 micro sign
  'μs': 1e-3, // U+03BC greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

// Longer units first so "ms" is not read as "m" followed by garbage.
const COMPONENT = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;

/** Milliseconds (possibly fractional), or undefined when `text` is not a Go duration. */
export function parseGoDuration(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;

  let total = 0;
  while (rest !== '') {
    const m = COMPONENT.exec(rest);
    if (!m) return undefined;
    const [whole, intPart, fracPart = '', unit] = m;
    if (intPart === '' && fracPart === '') return undefined;
    total += Number(`${intPart || '0'}.${fracPart || '0'}`) * UNIT_MS[unit];
    rest = rest.slice(whole.length);
  }
  return sign * total;
}
