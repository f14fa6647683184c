// Flag parsing shared by the subcommands: Go-style flags (`-name x`) through yargs in strict mode, help with
// `-h`, and the value parsers for comma lists, CIDRs and durations with messages that name the flag.

import yargs from 'yargs';
import { parseGoDuration } from '../../pkg/cli/go-duration.js';
import { normalizeGoFlags } from '../../pkg/cli/goflags.js';
import { parseCidr, networkOf, type Ipv4Net } from '../../pkg/ip/ipv4.js';
import { CliError, type CliIo } from './cli-io.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  describe: string;
  default?: string | boolean;
}

export type FlagValues = Record<string, string | boolean | undefined>;

/** Parses `argv`; returns the values, or the exit status when help was printed or the flags were wrong. */
export async function parseFlags(
  command: string,
  summary: string,
  specs: Record<string, FlagSpec>,
  argv: string[],
  io: CliIo,
): Promise<FlagValues | number> {
  const booleans = ['h', 'help', ...Object.keys(specs).filter((k) => specs[k].type === 'boolean')];
  const args = normalizeGoFlags(argv, { booleanFlags: booleans });
  // Named the way Go's flag package names it, before yargs reports it in its own words.
  for (const arg of args) {
    if (arg === '--') break;
    const name = /^--([^=]+)/.exec(arg)?.[1];
    if (name !== undefined && !booleans.includes(name) && !Object.hasOwn(specs, name)) {
      io.stderr(`Error: flag provided but not defined: -${name} (see 'mesh-cert ${command} -h')\n`);
      return 1;
    }
  }
  let y = yargs(args)
    .scriptName(`mesh-cert ${command}`)
    .usage(`Usage: mesh-cert ${command} <flags>: ${summary}`)
    .parserConfiguration({
      'camel-case-expansion': false,
      'dot-notation': false,
      'boolean-negation': false,
      'duplicate-arguments-array': false,
      'parse-numbers': false,
      'parse-positional-numbers': false,
    })
    .version(false)
    .help('h')
    .alias('h', 'help')
    .describe('h', 'Print this help message')
    .strict()
    .exitProcess(false)
    .wrap(null);
  for (const [name, spec] of Object.entries(specs)) y = y.option(name, spec);
  let output = '';
  try {
    const values = await new Promise<FlagValues>((resolvePromise, reject) => {
      void y.parse(args, {}, (err, parsed, out) => {
        output = out;
        if (err) reject(err);
        else resolvePromise(parsed as FlagValues);
      });
    });
    if (values.h || values.help) {
      // Show the flags the way users type them (Go style, one dash).
      io.stdout(output.replace(/(^|\s)--(?=[a-z])/gm, '$1-') + '\n');
      return 0;
    }
    return values;
  } catch (err) {
    io.stderr(`Error: ${(err as Error).message} (see 'mesh-cert ${command} -h')\n`);
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
