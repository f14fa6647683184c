// Global flags and mode dispatch of `mesh-cert`, the way nebula-cert reads them: global flags first
// (`-version`, `-h`/`-help`), then the mode and its own flags.

import { CliError } from '../../pkg/cli/cli-error.js';
import { parseGoFlags, type FlagSpec } from '../../pkg/cli/goflags.js';
import { version } from '../../pkg/version/version.js';
import { caCommand, caSummary } from './ca.js';
import type { CliIo, Subcommand } from './cli-io.js';
import { keygenCommand, keygenSummary } from './keygen.js';
import { printCommand, printSummary } from './print.js';
import { signCommand, signSummary } from './sign.js';
import { verifyCommand, verifySummary } from './verify.js';

const MODES: Record<string, { run: Subcommand; summary: string }> = {
  ca: { run: caCommand, summary: caSummary },
  keygen: { run: keygenCommand, summary: keygenSummary },
  sign: { run: signCommand, summary: signSummary },
  print: { run: printCommand, summary: printSummary },
  verify: { run: verifyCommand, summary: verifySummary },
};

export function usage(): string {
  const modes = Object.entries(MODES).map(([name, m]) => `    ${name} <flags>: ${m.summary}\n`);
  return (
    'Usage of mesh-cert <global flags> <mode>:\n' +
    '  Global flags:\n' +
    '    -version: Prints the version\n' +
    '    -h, -help: Prints this help message\n\n' +
    '  Modes:\n' +
    modes.join('')
  );
}

const GLOBAL_FLAGS: Record<string, FlagSpec> = { version: { type: 'boolean', describe: 'Prints the version' } };

export async function runMeshCert(argv: string[], io: CliIo): Promise<number> {
  let global;
  try {
    global = parseGoFlags(GLOBAL_FLAGS, argv, { interspersed: false });
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    io.stderr(`Error: ${err.message} (see 'mesh-cert -h')\n`);
    return 1;
  }
  if (global.values.version) {
    io.stdout(`Version: ${version()}\n`);
    return 0;
  }
  const [mode, ...rest] = global.positionals;
  if (mode === undefined) {
    if (global.help) {
      io.stdout(usage());
      return 0;
    }
    io.stderr("Error: no mode was provided (see 'mesh-cert -h')\n");
    return 1;
  }
  const entry = Object.hasOwn(MODES, mode) ? MODES[mode] : undefined;
  if (entry === undefined) {
    io.stderr(`Error: unknown mode: ${mode} (see 'mesh-cert -h')\n`);
    return 1;
  }
  return entry.run(global.help ? ['-h'] : rest, io);
}
