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

export class RateLimitedLog {
  private windowStart = -Infinity;
  private linesInWindow = 0;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly limit: RateLimit,
  ) {}

  /** Logs unless this window's budget is spent; returns whether the line was written. */
  write(level: LogLevel, msg: string, fields: LogFields = {}): boolean {
    if (!this.log.enabled(level)) return false;
    const now = this.clock.now();
    if (now - this.windowStart >= this.limit.windowMs) {
      this.windowStart = now;
      this.linesInWindow = 0;
    }
    if (this.linesInWindow >= this.limit.burst) {
      this.suppressed++;
      return false;
    }
    this.linesInWindow++;
    if (this.suppressed > 0) {
      fields = { ...fields, suppressed: this.suppressed };
      this.suppressed = 0;
    }
    this.log.log(level, msg, fields);
    return true;
  }

  info(msg: string, fields?: LogFields): boolean {
    return this.write('info', msg, fields);
  }
}
