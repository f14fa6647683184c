// The shell of every client subcommand: parse flags, connect to the daemon, run the body, close, and turn a
// CliError or ControlError into one `mesh: ...` line with exit status 1 (`errorStatus`: `mesh ping` uses 2, as
// ping(8) does, so that 1 can mean "no reply").

import type { ControlClient } from '../../pkg/control/client.js';
import { ControlError } from '../../pkg/control/protocol.js';
import { CliError } from '../../pkg/cli/cli-error.js';
import type { CliIo } from './cli-io.js';
import { parseFlags, TARGET_FLAGS, type FlagSpec, type ParsedFlags } from './flags.js';
import { connectDaemon } from './control-target.js';

export async function runClientCommand(
  usage: string,
  summary: string,
  specs: Record<string, FlagSpec>,
  argv: string[],
  io: CliIo,
  body: (flags: ParsedFlags, client: ControlClient) => Promise<number>,
  errorStatus = 1,
): Promise<number> {
  const flags = parseFlags(usage, summary, { ...TARGET_FLAGS, ...specs }, argv, io, errorStatus);
  if (typeof flags === 'number') return flags;
  let client: ControlClient | null = null;
  try {
    client = await connectDaemon(flags);
    return await body(flags, client);
  } catch (e) {
    if (e instanceof CliError || e instanceof ControlError) {
      io.stderr(`mesh: ${e.message}\n`);
      return errorStatus;
    }
    throw e;
  } finally {
    client?.close();
  }
}

/** The one positional HOST argument. */
export function hostArgument(flags: ParsedFlags): string {
  if (flags.positionals.length !== 1) throw new CliError('give exactly one HOST (overlay IP or certificate name)');
  return flags.positionals[0];
}

export function printJson(io: CliIo, value: unknown): void {
  io.stdout(JSON.stringify(value, null, 2) + '\n');
}
