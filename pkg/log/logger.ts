// A small structured logger with Nebula's levels and both of its formats. Fields use stable names (vpnIp,
// udpAddr, certName, fingerprint, stage, localIndex, remoteIndex) so that logs can be searched; key material is
// never a field.

import { stderrLineBuffer, type LogOutput } from './line-buffer.js';

export type LogLevel = 'panic' | 'fatal' | 'error' | 'warning' | 'info' | 'debug' | 'trace';
export type LogFormat = 'text' | 'json';
export type LogFields = Record<string, string | number | boolean | undefined>;

const RANK: Record<LogLevel, number> = { panic: 0, fatal: 1, error: 2, warning: 3, info: 4, debug: 5, trace: 6 };
/** Lines at this level or worse are written at once (LogOutput.writeNow); the rest may wait for the end of the task. */
const WRITTEN_AT_ONCE = RANK.warning;
const NO_FIELDS: LogFields = {};
/** A text value with any of these is written quoted (JSON string syntax), as logrus does. */
const NEEDS_QUOTES = /[\s"=]/;

/** The process's stderr (line-buffer.ts), taken when the first line is written. */
const STDERR: LogOutput = {
  write: (line) => stderrLineBuffer().write(line),
  writeNow: (line) => stderrLineBuffer().writeNow(line),
};

export class Logger {
  private readonly output: LogOutput;

  constructor(
    public level: LogLevel = 'info',
    public format: LogFormat = 'text',
    /**
     * Default: stderr, info and debug lines in a write per task rather than per line, warnings and worse at once
     * (line-buffer.ts). A function gets every line as it is logged (tests, discarding loggers).
     */
    output: LogOutput | ((line: string) => void) = STDERR,
    public disableTimestamp = false,
  ) {
    this.output = typeof output === 'function' ? { write: output, writeNow: output } : output;
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] <= RANK[this.level];
  }

  log(level: LogLevel, msg: string, fields: LogFields = NO_FIELDS): void {
    if (!this.enabled(level)) return;
    const time = this.disableTimestamp ? undefined : new Date().toISOString();
    if (this.format === 'json') {
      this.emit(level, JSON.stringify({ level, msg, time, ...fields }));
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
    this.emit(level, line);
  }

  private emit(level: LogLevel, line: string): void {
    if (RANK[level] <= WRITTEN_AT_ONCE) this.output.writeNow(line);
    else this.output.write(line);
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
