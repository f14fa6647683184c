// Exceptions that escaped a callback fed from outside the process (a datagram, a TUN batch, a DNS query, an HTTP
// scrape, a netlink event). None of them may end the process: one crafted datagram would otherwise take every
// tunnel down. Each socket kind wraps the callbacks it is given with guarded() once, where they are registered
// (UdpConn implementations, TUN devices, the DNS responder, the address watch; the metrics server reports its own),
// so no call site needs a try/catch of its own; what is caught comes here.
//
// Reports are counted per source and logged at error level, at most one line per LOG_INTERVAL_MS with the number
// left out since the last line (a remote sender that can trigger one can trigger millions). The daemon points
// `escapedErrors.sink` at its logger and counters; until then lines go to stderr. docs/security-model.md has
// the policy: keep serving, the packet that triggered it is dropped.

import { RateLimiter } from './rate-limit.js';

export const LOG_INTERVAL_MS = 1000;

export type EscapedErrorSink = (source: string, error: unknown, suppressed: number) => void;

const stderrSink: EscapedErrorSink = (source, error, suppressed) => {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(
    `level=error msg="Exception escaped a ${source} handler, kept serving" suppressed=${suppressed} error=${JSON.stringify(text)}\n`,
  );
};

export class EscapedErrors {
  /** Where logged reports go; `suppressed` is how many were rate-limited away since the last one. */
  sink: EscapedErrorSink = stderrSink;
  /** Called for every report (logged or not): the daemon counts them as drops. */
  onEach: (source: string) => void = () => {};
  private readonly counts = new Map<string, number>();
  private readonly watchers = new Set<(source: string, error: unknown) => void>();
  private readonly logLimit = new RateLimiter({ burst: 1, windowMs: LOG_INTERVAL_MS });

  constructor(private readonly now: () => number = () => performance.now()) {}

  report(source: string, error: unknown): void {
    this.counts.set(source, (this.counts.get(source) ?? 0) + 1);
    try {
      this.onEach(source);
      for (const watcher of this.watchers) watcher(source, error);
      const suppressed = this.logLimit.admit(this.now());
      if (suppressed >= 0) this.sink(source, error, suppressed);
    } catch {
      // The report itself must not become the exception that ends the process (a closed stderr, say).
    }
  }

  /**
   * Calls `fn` with every report, not rate-limited (the unit tests' TestMesh fails a test on any exception the
   * pipeline threw); returns a function that removes it.
   */
  watch(fn: (source: string, error: unknown) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  count(source: string): number {
    return this.counts.get(source) ?? 0;
  }
}

/** The process-wide report every guard writes to. */
export const escapedErrors = new EscapedErrors();

/**
 * `fn` wrapped so that an exception it throws is reported under `source` instead of propagating. Wrap once, where
 * a callback is registered: the wrapper takes fixed parameters (no rest array), so calling it per datagram
 * allocates nothing.
 */
export function guarded<A extends [] | [unknown] | [unknown, unknown]>(
  source: string,
  fn: (...args: A) => void,
): (...args: A) => void;
export function guarded(source: string, fn: (a?: unknown, b?: unknown) => void): (a?: unknown, b?: unknown) => void {
  return (a, b) => {
    try {
      fn(a, b);
    } catch (e) {
      escapedErrors.report(source, e);
    }
  };
}
