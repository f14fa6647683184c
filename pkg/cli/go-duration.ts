// nebula-cert's -duration flag: Go duration text (pkg/duration/go-duration.ts) in seconds, fractions allowed.

import { GoDurationError, parseGoDurationNanos } from '../duration/go-duration.js';

export { GoDurationError };

/** Seconds. Throws GoDurationError (code EDURATION) for text Go's time.ParseDuration refuses. */
export function parseGoDuration(text: string): number {
  return Number(parseGoDurationNanos(text)) / 1e9;
}
