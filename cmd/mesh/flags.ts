// Go-style flags for the `mesh` subcommands (`-config PATH`, `-json`, `-count 3`), the way Nebula's users type
// them, parsed with node:util after rewriting single dashes; positional arguments (a HOST) are kept in order.

import { parseArgs } from 'node:util';
import { parseGoDuration } from '../../pkg/cli/go-duration.js';
import { normalizeGoFlags } from '../../pkg/cli/goflags.js';
import { CliError, type CliIo } from './cli-io.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  describe: string;
  /** Shown in the help as the value's name, e.g. PATH. */
  value?: string;
}

export interface ParsedFlags {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** The flags every client subcommand takes to find its daemon. */
export const TARGET_FLAGS: Record<string, FlagSpec> = {
  config: { type: 'string', value: 'PATH', describe: 'config file or directory the daemon was started with' },
  socket: { type: 'string', value: 'PATH', describe: 'control socket path (instead of finding it from -config)' },
};

export function helpText(usage: string, summary: string, specs: Record<string, FlagSpec>): string {
  const lines = Object.entries(specs).map(([name, s]) => `  -${name}${s.value ? ` ${s.value}` : ''}\n      ${s.describe}\n`);
  return `Usage: ${usage}\n${summary}\n\nFlags:\n${lines.join('')}  -h, -help\n      print this help\n`;
}

/** "mesh status [flags]" -> "mesh status"; "mesh -config PATH" -> "mesh". */
function commandOf(usage: string): string {
  const words = usage.split(' ');
  const end = words.findIndex((w) => w.startsWith('-') || w.startsWith('['));
  return words.slice(0, end === -1 ? words.length : end).join(' ');
}

/** The parsed flags, or the exit status when help was printed (0) or the flags were wrong (1). */
export function parseFlags(usage: string, summary: string, specs: Record<string, FlagSpec>, argv: string[], io: CliIo): ParsedFlags | number {
  const booleans = ['h', 'help', ...Object.keys(specs).filter((k) => specs[k].type === 'boolean')];
  const options: Record<string, { type: 'string' | 'boolean' }> = { h: { type: 'boolean' }, help: { type: 'boolean' } };
  for (const [name, s] of Object.entries(specs)) options[name] = { type: s.type };
  let parsed;
  try {
    // node:util wants one-letter options with a single dash; ours are all long.
    const args = normalizeGoFlags(argv, { booleanFlags: booleans }).map((a) => (a === '--h' ? '--help' : a));
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    const unknown = /'--?([^'\s]+)'/.exec((e as Error).message)?.[1];
    const what = (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown ? `flag provided but not defined: -${unknown}` : (e as Error).message.replace(/'--/g, "'-");
    io.stderr(`mesh: ${what} (see '${commandOf(usage)} -h')\n`);
    return 1;
  }
  if (parsed.values.help || parsed.values.h) {
    io.stdout(helpText(usage, summary, specs));
    return 0;
  }
  return { values: parsed.values as ParsedFlags['values'], positionals: parsed.positionals };
}

export function stringFlag(f: ParsedFlags, name: string): string | undefined {
  const v = f.values[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A duration flag in Go syntax ("500ms", "2s") or plain milliseconds, as milliseconds. */
export function durationMsFlag(f: ParsedFlags, name: string, fallbackMs: number): number {
  const v = stringFlag(f, name);
  if (v === undefined) return fallbackMs;
  const ms = /^\d+$/.test(v) ? Number(v) : (() => {
    try {
      return parseGoDuration(v) * 1000;
    } catch {
      return NaN;
    }
  })();
  if (!Number.isFinite(ms) || ms <= 0) throw new CliError(`invalid -${name} ${JSON.stringify(v)}: want a duration such as 500ms or 2s`);
  return ms;
}

export function countFlag(f: ParsedFlags, name: string, fallback: number): number {
  const v = stringFlag(f, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new CliError(`invalid -${name} ${JSON.stringify(v)}: want a whole number of at least 1`);
  return Number(v);
}
