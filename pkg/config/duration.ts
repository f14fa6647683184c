// Config durations: Go duration text (pkg/duration/go-duration.ts) in milliseconds, fractions allowed.

import { GoDurationError, parseGoDurationNanos } from '../duration/go-duration.js';

/** Milliseconds (possibly fractional), or undefined when `text` is not a duration Go's time.ParseDuration accepts. */
export function parseGoDuration(text: string): number | undefined {
  try {
    return Number(parseGoDurationNanos(text)) / 1e6;
  } catch (err) {
    if (err instanceof GoDurationError) return undefined;
    throw err;
  }
}
