// The common shell of a subcommand: parse flags, run the body, and turn any failure into one `Error:` line and
// exit status 1. Bodies throw CliError (or CertError) with a message that names the flag or file at fault.

import { CertError, CertVerifyError } from '../../pkg/cert/errors.js';
import { CliError } from '../../pkg/cli/cli-error.js';
import type { CliIo } from './cli-io.js';
import { parseFlags, type FlagSpec, type FlagValues } from './flags.js';

export async function runCommand(
  command: string,
  summary: string,
  specs: Record<string, FlagSpec>,
  argv: string[],
  io: CliIo,
  body: (values: FlagValues) => Promise<void>,
): Promise<number> {
  const values = parseFlags(command, summary, specs, argv, io);
  if (typeof values === 'number') return values;
  try {
    await body(values);
    return 0;
  } catch (err) {
    if (err instanceof CliError || err instanceof CertError || err instanceof CertVerifyError) {
      io.stderr(`Error: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
