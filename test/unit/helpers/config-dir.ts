// Config files on disk for the loader's tests: a fresh directory holding them, removed after the test, and the pki
// section every config needs before anything else in it is read.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A pki section of four lines (paths only, never opened by the loader), so a snippet after it starts on line 5. */
export const PKI_YAML = 'pki:\n  ca: ca.crt\n  cert: host.crt\n  key: host.key\n';

/** Writes `files` (name to text) into a fresh temp directory, removed after the test, and returns its path. */
export function configDir(t: { after(fn: () => unknown): void }, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), `mesh-config-${process.pid}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
