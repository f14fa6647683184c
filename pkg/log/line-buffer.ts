// Log lines written once per JavaScript task instead of once per line. process.stderr on a file or a pipe writes
// synchronously, a system call per line: a lighthouse answering a burst of handshakes logs one line per handshake
// (as Nebula does), and the lines of one receive batch now leave in one write at the end of the task
// (atTurnEnd, as the sockets flush), or at once past MAX_PENDING_CHARS. Nothing waits longer than the task that
// logged it; a process that exits flushes what is left on its way out ('exit'), so a fatal line is not lost.
// Warnings and worse leave at once (writeNow, after the lines queued before them, so the order is kept): they are
// rare, and they are the lines that explain a task that never ends (a busy loop, a stuck call) before a watchdog's
// SIGKILL takes the queue with it (docs/differences-from-nebula.md, "Configuration and operation").

import { atTurnEnd } from '../schedule/turn-end.js';

/** Characters held at most before a write regardless of the task (a task that logs a lot still writes as it goes). */
export const MAX_PENDING_CHARS = 64 * 1024;

/** Where a Logger's lines go (pkg/log/logger.ts). */
export interface LogOutput {
  /** A line that may wait for the end of the task. */
  write(line: string): void;
  /** A line that leaves now, after every line written before it. */
  writeNow(line: string): void;
}

export class LineBuffer implements LogOutput {
  private pending = '';
  private flushQueued = false;
  private readonly flushAtTurnEnd = (): void => {
    this.flushQueued = false;
    this.flush();
  };

  constructor(
    /** Where the text goes: whole lines, each with its '\n'. */
    private readonly out: (text: string) => void,
    /** When the queued lines go (tests pass their own). */
    private readonly defer: (fn: () => void) => void = atTurnEnd,
  ) {}

  /** Queues `line` and a newline. */
  write(line: string): void {
    this.pending += line + '\n';
    if (this.pending.length >= MAX_PENDING_CHARS) return this.flush();
    if (!this.flushQueued) {
      this.flushQueued = true;
      this.defer(this.flushAtTurnEnd);
    }
  }

  /** Writes what is queued and `line` with its newline, in one write. */
  writeNow(line: string): void {
    this.pending += line + '\n';
    this.flush();
  }

  /**
   * Writes whatever is queued now (a flush still queued for the end of the task then finds nothing). Never throws: a
   * log line must not take the turn that wrote it down.
   */
  flush(): void {
    const text = this.pending;
    if (text === '') return;
    this.pending = '';
    try {
      this.out(text);
    } catch {
      // stderr gone (EPIPE, a closed descriptor): as with a synchronous write, the line is lost.
    }
  }
}

let stderrLines: LineBuffer | undefined;

/** The process's buffered stderr, flushed at the end of each task and on exit. */
export function stderrLineBuffer(): LineBuffer {
  if (stderrLines === undefined) {
    const buffer = new LineBuffer((text) => process.stderr.write(text));
    process.once('exit', () => buffer.flush());
    stderrLines = buffer;
  }
  return stderrLines;
}
