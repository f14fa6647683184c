// The flag parser of both command lines (`mesh`, `mesh-cert`), with the rules of Go's flag package, which is
// how Nebula's users type flags: one or two dashes (`-name x`, `--name=x`), a boolean alone or as `-json=false`,
// a value flag taking the next argument even when it starts with a dash (`-duration -1h`), `--` ending the flags,
// the last of repeated flags winning, and Go's messages for mistakes. Unlike Go, flags and positional arguments may
// be mixed (`mesh ping HOST -c 3`), as ping(8) allows, unless `interspersed` is false (mesh-cert's global flags end
// at the mode's name, as Go's do). `-h`/`-help` ask for help unless a command defines them.

import { CliError } from './cli-error.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  /** One line of help. */
  describe: string;
  /** The value's name in help, e.g. PATH or duration. */
  value?: string;
  /** A string flag's value when it is not given. */
  default?: string;
}

export type FlagValues = Record<string, string | boolean | undefined>;

export interface ParsedFlags {
  /** Every flag of the spec: given, its default, or undefined (false for booleans). */
  values: FlagValues;
  positionals: string[];
  /** `-h` or `-help` was given. */
  help: boolean;
}

// One or two dashes, then a name that starts with a letter; "-", "--" and "-5" are not flags (Go reads "-5" as
// an undefined flag; a positional is more useful, e.g. a negative number after a value flag's own value).
const FLAG = /^--?([A-Za-z][^=]*)(?:=([\s\S]*))?$/;

// strconv.ParseBool, which Go's boolean flags use.
const BOOLEANS: Record<string, boolean> = {
  1: true,
  t: true,
  T: true,
  true: true,
  TRUE: true,
  True: true,
  0: false,
  f: false,
  F: false,
  false: false,
  FALSE: false,
  False: false,
};

export interface GoFlagOptions {
  /** Flags may follow positional arguments (default true); false: the first positional ends the flags, as in Go. */
  interspersed?: boolean;
}

/** Parses `argv` against `specs`; a mistake throws CliError with Go's wording (`flag provided but not defined: -x`). */
export function parseGoFlags(
  specs: Record<string, FlagSpec>,
  argv: readonly string[],
  options: GoFlagOptions = {},
): ParsedFlags {
  const values: FlagValues = {};
  for (const [name, spec] of Object.entries(specs)) values[name] = spec.type === 'boolean' ? false : spec.default;
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const m = FLAG.exec(arg);
    if (!m) {
      if (options.interspersed === false) {
        positionals.push(...argv.slice(i));
        break;
      }
      positionals.push(arg);
      continue;
    }
    const [, name, assigned] = m;
    const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (spec === undefined) {
      if (name !== 'h' && name !== 'help') throw new CliError(`flag provided but not defined: -${name}`);
      if (assigned !== undefined && BOOLEANS[assigned] === undefined)
        throw new CliError(`invalid boolean value ${JSON.stringify(assigned)} for -${name}: parse error`);
      help ||= assigned === undefined || BOOLEANS[assigned];
    } else if (spec.type === 'boolean') {
      if (assigned !== undefined && BOOLEANS[assigned] === undefined)
        throw new CliError(`invalid boolean value ${JSON.stringify(assigned)} for -${name}: parse error`);
      values[name] = assigned === undefined ? true : BOOLEANS[assigned];
    } else if (assigned !== undefined) {
      values[name] = assigned;
    } else if (i + 1 < argv.length) {
      values[name] = argv[++i];
    } else {
      throw new CliError(`flag needs an argument: -${name}`);
    }
  }
  return { values, positionals, help };
}
