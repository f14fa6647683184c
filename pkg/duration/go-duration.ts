// Go's time.ParseDuration, the one reader of duration text in the tree: nebula-cert's -duration flag and Nebula's
// config both take it, so both must accept and refuse exactly what Go does ("1.s", ".5s", "-0" and "+5m" are fine;
// "1h-2m", "1", "" and anything beyond int64 nanoseconds are not). The result is exact integer nanoseconds;
// callers convert to the unit they keep.

export class GoDurationError extends Error {
  override name = 'GoDurationError';
  readonly code = 'EDURATION';
}

const UNIT_NANOS: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['µs', 1_000n], // U+00B5 micro sign
  ['μs', 1_000n], // U+03BC Greek mu
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);

/** |d| may reach 2^63 while reading: a negative duration's magnitude may be 2^63, a positive one 2^63 - 1. */
const MAGNITUDE_LIMIT = 1n << 63n;

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** Nanoseconds, as Go's time.ParseDuration returns them. Throws GoDurationError. */
export function parseGoDurationNanos(text: string): bigint {
  const invalid = (): never => {
    throw new GoDurationError(`invalid duration ${JSON.stringify(text)}`);
  };
  let i = 0;
  let negative = false;
  if (text[0] === '-' || text[0] === '+') {
    negative = text[0] === '-';
    i = 1;
  }
  const body = text.slice(i);
  if (body === '0') return 0n;
  if (body === '') invalid();

  let total = 0n;
  while (i < text.length) {
    if (!isDigit(text[i]) && text[i] !== '.') invalid();

    // Whole part: refused once it alone exceeds the limit (the loop stays short on a long digit string).
    const wholeStart = i;
    let whole = 0n;
    while (isDigit(text[i])) {
      whole = whole * 10n + BigInt(text.charCodeAt(i) - 48);
      if (whole > MAGNITUDE_LIMIT) invalid();
      i++;
    }
    const hasWhole = i > wholeStart;

    // Fraction: Go keeps digits only while the numerator fits in 63 bits and ignores the rest (no error).
    let fraction = 0n;
    let scale = 1;
    let hasFraction = false;
    if (text[i] === '.') {
      i++;
      let saturated = false;
      while (isDigit(text[i])) {
        hasFraction = true;
        if (!saturated) {
          const next = fraction * 10n + BigInt(text.charCodeAt(i) - 48);
          if (fraction > (MAGNITUDE_LIMIT - 1n) / 10n || next > MAGNITUDE_LIMIT) saturated = true;
          else {
            fraction = next;
            scale *= 10;
          }
        }
        i++;
      }
    }
    if (!hasWhole && !hasFraction) invalid();

    const unitStart = i;
    while (i < text.length && !isDigit(text[i]) && text[i] !== '.') i++;
    if (i === unitStart) throw new GoDurationError(`missing unit in duration ${JSON.stringify(text)}`);
    const unitText = text.slice(unitStart, i);
    const unit = UNIT_NANOS.get(unitText);
    if (unit === undefined) {
      throw new GoDurationError(`unknown unit ${JSON.stringify(unitText)} in duration ${JSON.stringify(text)}`);
    }
    // Go computes the fractional part in float64 and truncates it, so e.g. "0.1h" is exactly 360000000000ns.
    const fractionNanos = fraction > 0n ? BigInt(Math.trunc(Number(fraction) * (Number(unit) / scale))) : 0n;
    total += whole * unit + fractionNanos;
    if (total > MAGNITUDE_LIMIT) invalid();
  }
  if (negative) return -total;
  if (total > MAGNITUDE_LIMIT - 1n) invalid();
  return total;
}
