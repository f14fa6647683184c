// `mesh ping`'s count, interval and reply wait, from ping(8)'s short flags (`-c 3 -i 0.2 -W 1`, seconds) or the
// long Go-style ones (`-count 3 -interval 200ms -timeout 1s`), checked against the bounds below.

import { CliError } from '../../pkg/cli/cli-error.js';
import type { FlagSpec, ParsedFlags } from '../../pkg/cli/goflags.js';
import { durationMs } from './flags.js';

export interface PingOptions {
  count: number;
  intervalMs: number;
  timeoutMs: number;
}

export const PING_DEFAULTS: PingOptions = { count: 4, intervalMs: 1000, timeoutMs: 2000 };

/** The loop is bounded: a million probes is 11.5 days at the default interval. */
export const MAX_COUNT = 1_000_000;
/**
 * ping(8) (iputils 20221126) lets only root go below 2 ms. `mesh ping` is root's alone (the control socket is),
 * but each probe is a control request and a tunnel message the daemon handles on its one thread, next to the
 * traffic it carries, so the unprivileged floor holds for everyone. One probe is in flight at a time, so the
 * rate is at most one per round trip as well.
 */
export const MIN_INTERVAL_MS = 2;
export const MAX_INTERVAL_MS = 3_600_000;
/** The daemon waits at most 60 s for a reply (pkg/control/handlers.ts). */
export const MAX_TIMEOUT_MS = 60_000;

export const PING_FLAGS: Record<string, FlagSpec> = {
  c: {
    type: 'string',
    value: 'COUNT',
    describe: `number of probes (default ${PING_DEFAULTS.count}, at most ${MAX_COUNT})`,
  },
  i: { type: 'string', value: 'INTERVAL', describe: 'seconds between probes, as ping(8) (default 1, at least 0.002)' },
  W: {
    type: 'string',
    value: 'TIMEOUT',
    describe: 'seconds to wait for each reply, tunnel set-up included (default 2, at most 60)',
  },
  count: { type: 'string', value: 'N', describe: 'same as -c' },
  interval: {
    type: 'string',
    value: 'DURATION',
    describe: 'same as -i, as a duration (1s, 200ms; plain digits are ms)',
  },
  timeout: {
    type: 'string',
    value: 'DURATION',
    describe: 'same as -W, as a duration (2s, 500ms; plain digits are ms)',
  },
  json: { type: 'boolean', describe: 'print one JSON object per reply' },
};

/** The one of two spellings given, or undefined; both given is a mistake. */
function either(flags: ParsedFlags, short: string, long: string): { name: string; text: string } | undefined {
  const s = flags.values[short];
  const l = flags.values[long];
  if (typeof s === 'string' && typeof l === 'string') throw new CliError(`give -${short} or -${long}, not both`);
  if (typeof s === 'string') return { name: short, text: s };
  if (typeof l === 'string') return { name: long, text: l };
  return undefined;
}

/** ping(8)'s seconds ("0.2", "1"), or a Go duration with its unit ("200ms"), in milliseconds; NaN when malformed. */
function secondsMs(text: string): number {
  return /^(\d+\.?\d*|\.\d+)$/.test(text) ? Number(text) * 1000 : durationMs(text);
}

function timeFlag(
  flags: ParsedFlags,
  short: string,
  long: string,
  fallbackMs: number,
  minMs: number,
  maxMs: number,
  want: string,
): number {
  const given = either(flags, short, long);
  if (given === undefined) return fallbackMs;
  const ms = given.name === short ? secondsMs(given.text) : durationMs(given.text);
  if (!(ms >= minMs && ms <= maxMs))
    throw new CliError(`invalid -${given.name} ${JSON.stringify(given.text)}: want ${want}`);
  return ms;
}

export function pingOptions(flags: ParsedFlags): PingOptions {
  const givenCount = either(flags, 'c', 'count');
  let count = PING_DEFAULTS.count;
  if (givenCount !== undefined) {
    count = /^\d+$/.test(givenCount.text) ? Number(givenCount.text) : NaN;
    if (!(count >= 1 && count <= MAX_COUNT)) {
      throw new CliError(
        `invalid -${givenCount.name} ${JSON.stringify(givenCount.text)}: want a whole number from 1 to ${MAX_COUNT}`,
      );
    }
  }
  const intervalMs = timeFlag(
    flags,
    'i',
    'interval',
    PING_DEFAULTS.intervalMs,
    MIN_INTERVAL_MS,
    MAX_INTERVAL_MS,
    'an interval from 0.002 to 3600 seconds',
  );
  const timeoutMs = timeFlag(
    flags,
    'W',
    'timeout',
    PING_DEFAULTS.timeoutMs,
    1,
    MAX_TIMEOUT_MS,
    'a reply wait above 0 and at most 60 seconds',
  );
  return { count, intervalMs, timeoutMs };
}

/** ping(8)'s exit status: 0 when any reply came, 1 when none did (errors are 2, see ping.ts). */
export function pingExitStatus(received: number): number {
  return received > 0 ? 0 : 1;
}
