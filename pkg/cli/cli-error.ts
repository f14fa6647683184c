// The one error type of both command lines: a failure the user can fix (a bad flag, a missing file). Each CLI
// prints it as one line in its own voice (`mesh: ...`, nebula-cert's `Error: ...`) and exits non-zero.

export class CliError extends Error {
  override name = 'CliError';
  readonly code = 'ECLI';
}
