// What a `mesh` subcommand may touch: two output sinks (and, for the daemon, the process signals), so tests run
// subcommands in-process and read what they printed.

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /**
   * Calls `stop` on the next Ctrl-C (SIGINT) instead of letting it end the process, until the returned function is
   * called; a second Ctrl-C ends the process as usual. `mesh ping` uses it to print its summary, as ping(8) does.
   */
  onInterrupt?: (stop: () => void) => () => void;
}

/** A subcommand: the arguments after its name, and the exit status it wants. */
export type Subcommand = (argv: string[], io: CliIo) => Promise<number>;

/**
 * Exits with `code` once everything written to stdout and stderr has reached the kernel. Node writes to a pipe
 * synchronously only while the pipe has room (64 KiB here) and queues the rest; `process.exit` drops that queue,
 * which cut `mesh status -json | jq` off at 65536 bytes with a thousand tunnels. A closed pipe (`| head`) ends the
 * wait too.
 */
export function exitWhenFlushed(code: number): void {
  const flushed = (stream: NodeJS.WriteStream): Promise<void> =>
    new Promise((resolve) => {
      if (stream.destroyed || !stream.writable) return resolve();
      stream.write('', () => resolve());
    });
  void Promise.all([flushed(process.stdout), flushed(process.stderr)]).then(() => process.exit(code));
}
