// What a `mesh` subcommand may touch: two output sinks (and, for the daemon, the process signals), so tests run
// subcommands in-process and read what they printed.

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

/** A subcommand: the arguments after its name, and the exit status it wants. */
export type Subcommand = (argv: string[], io: CliIo) => Promise<number>;

/** A failure the user can fix: printed as one `mesh: ...` line, exit status 1. */
export class CliError extends Error {
  override name = 'CliError';
  readonly code = 'ECLI';
}
