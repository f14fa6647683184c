// Flag parsing shared by the subcommands: Go-style flags (`-name x`) through the parser both CLIs share
// (pkg/cli/goflags.ts), nebula-cert's help with `-h`, and the value parsers for comma lists, CIDRs and durations
// with messages that name the flag.

import { CliError } from '../../pkg/cli/cli-error.js';
import { parseGoDuration } from '../../pkg/cli/go-duration.js';
import { parseGoFlags, type FlagSpec, type FlagValues } from '../../pkg/cli/goflags.js';
import { parseCidr, networkOf, type Ipv4Net } from '../../pkg/ip/ipv4.js';
import type { CliIo } from './cli-io.js';
import { goHelp } from './go-help.js';

export type { FlagSpec, FlagValues };

/** Parses `argv`; returns the values, or the exit status when help was printed (0) or the flags were wrong (1). */
export function parseFlags(
  command: string,
  summary: string,
  specs: Record<string, FlagSpec>,
  argv: string[],
  io: CliIo,
): FlagValues | number {
  try {
    const parsed = parseGoFlags(specs, argv);
    if (parsed.help) {
      io.stdout(goHelp(command, summary, specs));
      return 0;
    }
    // nebula-cert ignores stray arguments; refusing them catches a value that lost its flag (`-name my host`).
    if (parsed.positionals.length > 0) throw new CliError(`unexpected argument: ${parsed.positionals[0]}`);
    return parsed.values;
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    io.stderr(`Error: ${err.message} (see 'mesh-cert ${command} -h')\n`);
    return 1;
  }
}

export function requiredString(values: FlagValues, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new CliError(`-${name} is required`);
  return v;
}

export function optionalString(values: FlagValues, name: string): string {
  const v = values[name];
  return typeof v === 'string' ? v : '';
}

/** Comma-separated list, items trimmed, empty items dropped (nebula-cert's rule). */
export function commaList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function cidr(text: string, flag: string): Ipv4Net {
  try {
    return parseCidr(text);
  } catch (err) {
    throw new CliError(`invalid -${flag} ${JSON.stringify(text)}: ${(err as Error).message}`);
  }
}

/** One IPv4 CIDR with host bits kept (a host's address). */
export function hostCidr(text: string, flag: string): Ipv4Net {
  return cidr(text.trim(), flag);
}

/** CIDR list; `keepHostBits` for a CA's -ips, network addresses for -subnets. */
export function cidrList(text: string, flag: string, keepHostBits: boolean): Ipv4Net[] {
  return commaList(text).map((item) => {
    const net = cidr(item, flag);
    return keepHostBits ? net : networkOf(net);
  });
}

/** -duration in Go syntax, in seconds; undefined when the flag was not given. */
export function durationFlag(values: FlagValues, name: string): number | undefined {
  const text = values[name];
  if (typeof text !== 'string') return undefined;
  try {
    return parseGoDuration(text);
  } catch (err) {
    throw new CliError(`invalid value for -${name}: ${(err as Error).message}`);
  }
}
