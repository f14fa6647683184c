// Subtypes go on the wire through the names in pkg/header/header.ts, never as bare numbers or private copies: a
// literal 0 next to MessageType.Test reads as "request" only to someone who knows the table, and a second
// definition can drift from the first.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const PKG = fileURLToPath(new URL('../../../pkg/', import.meta.url));

/** A numeric subtype right after a MessageType argument, or a header's subtype compared with a number. */
const LITERAL_SUBTYPE = /MessageType\.[A-Za-z]+,\s*\d|\bsubtype\s*[!=]==\s*\d|\d\s*[!=]==\s*[A-Za-z.]*subtype\b/;
/** A constant of its own for a subtype. */
const PRIVATE_SUBTYPE = /(?:const|readonly)\s+[A-Za-z_]*SUB_?TYPE[A-Za-z_]*\s*=\s*\d/i;

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(path, out);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

test('pkg/ names header subtypes instead of writing their numbers', () => {
  const offenders: string[] = [];
  const files = sourceFiles(PKG);
  assert.ok(files.length > 50, `found only ${files.length} source files under ${PKG}`);
  for (const file of files) {
    if (file.endsWith(join('header', 'header.ts'))) continue; // where the names are defined
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const code = line.replace(/\/\/.*$/, '');
        if (LITERAL_SUBTYPE.test(code) || PRIVATE_SUBTYPE.test(code))
          offenders.push(`${file}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(offenders, []);
});
