// Log lines written once per JavaScript task instead of once per line. process.stderr on a file or a pipe writes
// synchronously, a system call per line: a lighthouse answering a burst of handshakes logs one line per handshake
// (as Nebula does), and the lines of one receive batch now leave in one write at the end of the task
// (atTurnEnd, as the sockets flush), or at once past MAX_PENDING_CHARS. Nothing waits longer than the task that
// logged it; a process that exits flushes what is left on its way out ('exit'), so a fatal line is not lost.

import { atTurnEnd } from '../schedule/turn-end.js';

/** Characters held at most before a write regardless of the task (a task that logs a lot still writes as it goes). */
export const MAX_PENDING_CHARS = 64 * 1024;

export class LineBuffer {
  private pending = '';
  private flushQueued = false;
  private readonly flushNow = (): void => this.flush();

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
      this.defer(this.flushNow);
    }
  }

  /** Writes whatever is queued now. Never throws: a log line must not take the turn that wrote it down. */
  flush(): void {
    this.flushQueued = false;
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
