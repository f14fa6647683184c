// A small structured logger with Nebula's levels and both of its formats. Fields use stable names (vpnIp,
// udpAddr, certName, fingerprint, stage, localIndex, remoteIndex) so that logs can be searched; key material is
// never a field.

import { stderrLineBuffer } from './line-buffer.js';

export type LogLevel = 'panic' | 'fatal' | 'error' | 'warning' | 'info' | 'debug' | 'trace';
export type LogFormat = 'text' | 'json';
export type LogFields = Record<string, string | number | boolean | undefined>;

const RANK: Record<LogLevel, number> = { panic: 0, fatal: 1, error: 2, warning: 3, info: 4, debug: 5, trace: 6 };
const NO_FIELDS: LogFields = {};
/** A text value with any of these is written quoted (JSON string syntax), as logrus does. */
const NEEDS_QUOTES = /[\s"=]/;

export class Logger {
  constructor(
    public level: LogLevel = 'info',
    public format: LogFormat = 'text',
    /** Default: stderr, a write per task rather than per line (line-buffer.ts). */
    private readonly write: (line: string) => void = (line) => stderrLineBuffer().write(line),
    public disableTimestamp = false,
  ) {}

  enabled(level: LogLevel): boolean {
    return RANK[level] <= RANK[this.level];
  }

  log(level: LogLevel, msg: string, fields: LogFields = NO_FIELDS): void {
    if (!this.enabled(level)) return;
    const time = this.disableTimestamp ? undefined : new Date().toISOString();
    if (this.format === 'json') {
      this.write(JSON.stringify({ level, msg, time, ...fields }));
      return;
    }
    // One string built in place: a handshake logs a line, and the arrays of entries cost a lighthouse more than the
    // text itself.
    let line = `${time ? `time="${time}" ` : ''}level=${level} msg=${JSON.stringify(msg)}`;
    for (const k in fields) {
      const v = fields[k];
      if (v === undefined) continue;
      line += ` ${k}=${typeof v === 'string' && NEEDS_QUOTES.test(v) ? JSON.stringify(v) : v}`;
    }
    this.write(line);
  }

  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warning', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
}
