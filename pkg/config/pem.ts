// pki.ca / pki.cert / pki.key hold either the PEM text itself or a path to it.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, ConfigErrorCode } from './errors.js';

/**
 * Returns the PEM text: `value` itself when it contains a PEM header, otherwise the contents of the file it names,
 * resolved against `baseDir` (the config's directory; Nebula itself resolves against the working directory).
 * @param key named in errors, e.g. `pki.ca`
 */
export function readPemSource(value: string, baseDir: string, key = 'pki'): string {
  if (value.includes('-----BEGIN')) return value;
  if (value.trim() === '')
    throw new ConfigError(ConfigErrorCode.pem, { file: baseDir, key }, 'empty: expected a file path or inline PEM');
  const path = resolve(baseDir, value.trim());
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(ConfigErrorCode.pem, { file: path, key }, `cannot read the PEM file (${reason})`);
  }
  if (!text.includes('-----BEGIN')) {
    throw new ConfigError(ConfigErrorCode.pem, { file: path, key }, 'the file holds no PEM block');
  }
  return text;
}
