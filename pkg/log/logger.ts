// A small structured logger with Nebula's levels and both of its formats. Fields use stable names (vpnIp,
// udpAddr, certName, fingerprint, stage, localIndex, remoteIndex) so that logs can be searched; key material is
// never a field.

export type LogLevel = 'panic' | 'fatal' | 'error' | 'warning' | 'info' | 'debug' | 'trace';
export type LogFormat = 'text' | 'json';
export type LogFields = Record<string, string | number | boolean | undefined>;

const RANK: Record<LogLevel, number> = { panic: 0, fatal: 1, error: 2, warning: 3, info: 4, debug: 5, trace: 6 };

export class Logger {
  constructor(
    public level: LogLevel = 'info',
    public format: LogFormat = 'text',
    private readonly write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
    public disableTimestamp = false,
  ) {}

  enabled(level: LogLevel): boolean {
    return RANK[level] <= RANK[this.level];
  }

  log(level: LogLevel, msg: string, fields: LogFields = {}): void {
    if (!this.enabled(level)) return;
    const time = this.disableTimestamp ? undefined : new Date().toISOString();
    if (this.format === 'json') {
      this.write(JSON.stringify({ level, msg, time, ...fields }));
      return;
    }
    const parts = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'string' && /[\s"=]/.test(v) ? JSON.stringify(v) : v}`);
    this.write(
      `${time ? `time="${time}" ` : ''}level=${level} msg=${JSON.stringify(msg)}${parts.length ? ' ' + parts.join(' ') : ''}`,
    );
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
