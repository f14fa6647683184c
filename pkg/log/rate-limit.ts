// A log line that remote input can trigger must not let a peer fill the disk or spend our CPU on formatting
// (docs/security-model.md). RateLimitedLog lets through at most `burst` lines per `windowMs` window and drops the
// rest; the first line let through after a dropping window carries `suppressed=<n>`, so nothing is lost silently.
// No timers: the window moves on the injected clock when the next line arrives.

import type { Clock } from '../clock/clock.js';
import type { LogFields, Logger, LogLevel } from './logger.js';

export interface RateLimit {
  /** Lines let through per window. */
  burst: number;
  windowMs: number;
}

/**
 * The budget behind every rate-limited report: at most `burst` admissions per `windowMs` window, counting the
 * ones refused so the next admitted one can say how many were left out.
 */
export class RateLimiter {
  private windowStart = -Infinity;
  private admittedInWindow = 0;
  private suppressed = 0;

  constructor(private readonly limit: RateLimit) {}

  /** At `now`: -1 when this window's budget is spent, else how many were refused since the last admission. */
  admit(now: number): number {
    if (now - this.windowStart >= this.limit.windowMs) {
      this.windowStart = now;
      this.admittedInWindow = 0;
    }
    if (this.admittedInWindow >= this.limit.burst) {
      this.suppressed++;
      return -1;
    }
    this.admittedInWindow++;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    return suppressed;
  }
}

export class RateLimitedLog {
  private readonly limiter: RateLimiter;

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
    limit: RateLimit,
  ) {
    this.limiter = new RateLimiter(limit);
  }

  /** Logs unless this window's budget is spent; returns whether the line was written. */
  write(level: LogLevel, msg: string, fields: LogFields = {}): boolean {
    if (!this.log.enabled(level)) return false;
    const suppressed = this.limiter.admit(this.clock.now());
    if (suppressed < 0) return false;
    if (suppressed > 0) fields = { ...fields, suppressed };
    this.log.log(level, msg, fields);
    return true;
  }

  info(msg: string, fields?: LogFields): boolean {
    return this.write('info', msg, fields);
  }
}
