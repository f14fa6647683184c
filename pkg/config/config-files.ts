// Which files a config path stands for. Like Nebula: a file is used as is (any extension); a directory contributes
// every *.yml / *.yaml file below it, subdirectories included, ordered by full path.

import { readdirSync, realpathSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { extname, join } from 'node:path';
import { ConfigError, ConfigErrorCode } from './errors.js';

export function listConfigFiles(path: string): string[] {
  const stat = statOrThrow(path);
  if (!stat.isDirectory()) return [path];

  const files: string[] = [];
  collect(path, files, new Set());
  if (files.length === 0) {
    throw new ConfigError(ConfigErrorCode.notFound, { file: path }, 'no *.yml or *.yaml files in this directory');
  }
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function collect(dir: string, files: string[], seen: Set<string>): void {
  const real = realpathSync(dir);
  if (seen.has(real)) return; // a symlink loop
  seen.add(real);

  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new ConfigError(
      ConfigErrorCode.unreadable,
      { file: dir },
      `cannot list directory: ${(err as Error).message}`,
    );
  }
  for (const name of names) {
    const full = join(dir, name);
    const isYaml = extname(name) === '.yml' || extname(name) === '.yaml';
    let stat: Stats;
    try {
      stat = statSync(full);
    } catch (err) {
      if (isYaml) throw statError(full, err);
      continue; // a dangling link that is not a config file is none of our business
    }
    if (stat.isDirectory()) collect(full, files, seen);
    else if (isYaml) files.push(full);
  }
}

function statOrThrow(path: string): Stats {
  try {
    return statSync(path);
  } catch (err) {
    throw statError(path, err);
  }
}

function statError(path: string, err: unknown): ConfigError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new ConfigError(ConfigErrorCode.notFound, { file: path }, 'no such file or directory');
  }
  return new ConfigError(ConfigErrorCode.unreadable, { file: path }, `cannot read: ${(err as Error).message}`);
}
