// `mesh-cert <mode> -h`, laid out the way Go's flag.PrintDefaults lays out nebula-cert's help, so the two read
// the same line for line: flags sorted by name, the value's type after the name, the text on the next line after
// four spaces and a tab, and a non-empty string default as ` (default "ca.crt")`.

import type { FlagSpec } from '../../pkg/cli/goflags.js';

export function goHelp(command: string, summary: string, specs: Record<string, FlagSpec>): string {
  const lines = [`Usage of mesh-cert ${command} <flags>: ${summary}\n`];
  for (const name of Object.keys(specs).sort()) {
    const spec = specs[name];
    const typeName = spec.value ?? (spec.type === 'boolean' ? '' : 'string');
    let line = `  -${name}${typeName ? ` ${typeName}` : ''}`;
    // Go puts a one-letter boolean's text on the same line.
    line += line.length <= 4 ? '\t' : '\n    \t';
    line += spec.describe.replaceAll('\n', '\n    \t');
    if (spec.default) line += ` (default ${JSON.stringify(spec.default)})`;
    lines.push(line + '\n');
  }
  return lines.join('');
}
