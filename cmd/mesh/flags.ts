// The `mesh` subcommands' flags (`-config PATH`, `-json`, `-count 3`), read by the Go-style parser both CLIs share
// (pkg/cli/goflags.ts), with help and mistakes in `mesh`'s voice; positional arguments (a HOST) are kept in order.

import { CliError } from '../../pkg/cli/cli-error.js';
import { parseGoDuration } from '../../pkg/cli/go-duration.js';
import { parseGoFlags, type FlagSpec, type ParsedFlags } from '../../pkg/cli/goflags.js';
import type { CliIo } from './cli-io.js';

export type { FlagSpec, ParsedFlags };

/** The flags every client subcommand takes to find its daemon. */
export const TARGET_FLAGS: Record<string, FlagSpec> = {
  config: { type: 'string', value: 'PATH', describe: 'config file or directory the daemon was started with' },
  socket: { type: 'string', value: 'PATH', describe: 'control socket path (instead of finding it from -config)' },
};

export function helpText(usage: string, summary: string, specs: Record<string, FlagSpec>): string {
  const lines = Object.entries(specs).map(
    ([name, s]) => `  -${name}${s.value ? ` ${s.value}` : ''}\n      ${s.describe}\n`,
  );
  return `Usage: ${usage}\n${summary}\n\nFlags:\n${lines.join('')}  -h, -help\n      print this help\n`;
}

/** "mesh status [flags]" -> "mesh status"; "mesh -config PATH" -> "mesh". */
function commandOf(usage: string): string {
  const words = usage.split(' ');
  const end = words.findIndex((w) => w.startsWith('-') || w.startsWith('['));
  return words.slice(0, end === -1 ? words.length : end).join(' ');
}

/**
 * The parsed flags, or the exit status when help was printed (0) or the flags were wrong (`errorStatus`: 1, or 2
 * for `mesh ping`, whose statuses follow ping(8)).
 */
export function parseFlags(
  usage: string,
  summary: string,
  specs: Record<string, FlagSpec>,
  argv: string[],
  io: CliIo,
  errorStatus = 1,
): ParsedFlags | number {
  let parsed: ParsedFlags;
  try {
    parsed = parseGoFlags(specs, argv);
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    io.stderr(`mesh: ${e.message} (see '${commandOf(usage)} -h')\n`);
    return errorStatus;
  }
  if (parsed.help) {
    io.stdout(helpText(usage, summary, specs));
    return 0;
  }
  return parsed;
}

export function stringFlag(f: ParsedFlags, name: string): string | undefined {
  const v = f.values[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A duration in Go syntax ("500ms", "2s") or plain digits as milliseconds, in milliseconds; NaN when malformed. */
export function durationMs(text: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  try {
    return parseGoDuration(text) * 1000;
  } catch {
    return NaN;
  }
}

/** A duration flag (see durationMs), as milliseconds. */
export function durationMsFlag(f: ParsedFlags, name: string, fallbackMs: number): number {
  const v = stringFlag(f, name);
  if (v === undefined) return fallbackMs;
  const ms = durationMs(v);
  if (!Number.isFinite(ms) || ms <= 0)
    throw new CliError(`invalid -${name} ${JSON.stringify(v)}: want a duration such as 500ms or 2s`);
  return ms;
}
