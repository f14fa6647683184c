import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

import { sleep } from './wait.js';

// A long-running process in a namespace. It leads its own process group (so kill() reaches anything it forks), and
// its stdout and stderr go straight to a file: the log survives the test process and can be read while it grows.

export class LogWaitError extends Error {
  readonly code = 'LAB_LOG_WAIT';
  override readonly name = 'LogWaitError';
}

export interface ExitInfo {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export class LabProcess {
  readonly pid: number;
  /** Resolves when the process has exited, however it ended. */
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | null = null;

  private constructor(
    readonly ns: string,
    readonly command: string,
    readonly logFile: string,
    /** Length of the log file before this process started (a restarted node appends to its old log). */
    readonly logStart: number,
    pid: number,
    exited: Promise<ExitInfo>,
  ) {
    this.pid = pid;
    this.exited = exited.then((info) => (this.exitInfo = info));
  }

  static start(ns: string, cmd: string, args: readonly string[], options: SpawnOptions): Promise<LabProcess> {
    const logStart = readLog(options.logFile).length;
    const fd = openSync(options.logFile, 'a');
    try {
      const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: options.env,
        cwd: options.cwd,
      });
      return new Promise((resolve, reject) => {
        child.once('error', reject);
        child.once('spawn', () => {
          const exited = new Promise<ExitInfo>((done) =>
            child.once('exit', (exitCode, signal) => done({ exitCode, signal })),
          );
          // The lab owns the lifetime; the test process must not wait for this child before exiting.
          child.unref();
          resolve(new LabProcess(ns, [cmd, ...args].join(' '), options.logFile, logStart, child.pid as number, exited));
        });
      });
    } finally {
      closeSync(fd);
    }
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  /** Everything the process has written so far. */
  log(): string {
    return readLog(this.logFile);
  }

  /** The last `lines` lines of the log, for failure messages. */
  logTail(lines = 30): string {
    return this.log()
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  }

  /**
   * Resolves with the first match of `pattern` in the log at or after offset `since` (default: where this process
   * started writing). Rejects when the process exits first or after `timeoutMs`, quoting the log's tail.
   */
  async waitForLog(pattern: RegExp, timeoutMs: number, since = this.logStart): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.log().slice(since).match(pattern);
      if (match !== null) return match;
      if (!this.running) {
        throw new LogWaitError(
          `${this.describe()} exited (${JSON.stringify(this.exitInfo)}) before logging ${pattern}\n${this.logTail()}`,
        );
      }
      if (Date.now() >= deadline) {
        throw new LogWaitError(`${this.describe()} did not log ${pattern} within ${timeoutMs} ms\n${this.logTail()}`);
      }
      await sleep(50);
    }
  }

  /** Current log length; pass it as `since` to waitForLog to match only lines written later. */
  logOffset(): number {
    return this.log().length;
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      // Already gone.
    }
  }

  /** SIGTERM to the whole group, then SIGKILL after `graceMs`. Safe to call more than once. */
  async kill(graceMs = 2000): Promise<ExitInfo> {
    if (this.running) {
      this.signal('SIGTERM');
      const timedOut = await Promise.race([this.exited.then(() => false), sleep(graceMs).then(() => true)]);
      if (timedOut) this.killNow();
    }
    return this.exited;
  }

  /** SIGKILL to the group, synchronously (usable from an 'exit' handler). */
  killNow(): void {
    if (!this.running) return;
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }

  private describe(): string {
    const cmd = this.command.length > 120 ? `${this.command.slice(0, 120)}…` : this.command;
    return `[${this.ns}] ${cmd} (pid ${this.pid})`;
  }
}

function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
