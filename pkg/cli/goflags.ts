// Go's flag package spells long options with one dash (`-name x`, `-name=x`); yargs reads one dash as a group of
// short options. Nebula's users type Go style, so both CLIs rewrite the arguments before yargs sees them.

export interface GoFlagOptions {
  /**
   * Names of boolean flags. When given, every other flag written without `=` takes the next argument as its
   * value and is emitted as `--name=value`, as Go does; this keeps values that start with a dash (`-duration
   * -1h`) from being read as flags.
   */
  booleanFlags?: Iterable<string>;
}

// A flag: one or two dashes, then a name that starts with a letter; "-", "--", "-5" and bare values are not.
const FLAG = /^--?([A-Za-z][^=]*)(=[\s\S]*)?$/;

/** Rewrites `-name x` / `-name=x` to `--name x` / `--name=x`; everything after a bare `--` is left alone. */
export function normalizeGoFlags(argv: string[], options: GoFlagOptions = {}): string[] {
  const booleans = options.booleanFlags === undefined ? null : new Set(options.booleanFlags);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const m = FLAG.exec(arg);
    if (!m) {
      out.push(arg);
      continue;
    }
    const [, name, assigned] = m;
    if (assigned !== undefined || booleans === null || booleans.has(name) || i + 1 >= argv.length) {
      out.push(`--${name}${assigned ?? ''}`);
    } else {
      out.push(`--${name}=${argv[++i]}`);
    }
  }
  return out;
}
