// What a subcommand may touch: two output sinks and a working directory, so tests run subcommands in-process.
// File helpers turn Node errors into the one-line messages the CLI prints.

import { open, readFile, stat, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CertError } from '../../pkg/cert/errors.js';
import { CliError } from '../../pkg/cli/cli-error.js';

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  cwd: string;
}

export type Subcommand = (argv: string[], io: CliIo) => Promise<number>;

const FS_REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EEXIST: 'file exists',
};

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  return (code && FS_REASONS[code]) ?? (err as Error)?.message ?? String(err);
}

/** Reads a text file named by flag `-flag`; failures name both the flag and the path. */
export async function readFlagFile(io: CliIo, flag: string, path: string): Promise<string> {
  try {
    return await readFile(resolve(io.cwd, path), 'utf8');
  } catch (err) {
    throw new CliError(`error while reading -${flag} ${path}: ${reason(err)}`);
  }
}

/** Reads and parses a file named by `-flag`; a parse failure names the flag and the path. */
export async function loadFlagFile<T>(io: CliIo, flag: string, path: string, parse: (text: string) => T): Promise<T> {
  const text = await readFlagFile(io, flag, path);
  try {
    return parse(text);
  } catch (err) {
    if (err instanceof CertError) throw new CliError(`error while parsing -${flag} ${path}: ${err.message}`);
    throw err;
  }
}

export async function exists(io: CliIo, path: string): Promise<boolean> {
  try {
    await stat(resolve(io.cwd, path));
    return true;
  } catch {
    return false;
  }
}

export interface OutputFile {
  flag: string;
  path: string;
  data: string | Uint8Array;
  /** Noun used in the "refusing to overwrite" message, e.g. "cert", "key", "CA key". */
  what: string;
}

/**
 * Writes every file or none: all paths are checked first, each is created exclusively with mode 0600 (an
 * existing file is never replaced), and files already written are removed if a later one fails.
 */
export async function writeOutputs(io: CliIo, files: OutputFile[]): Promise<void> {
  for (const f of files) {
    if (await exists(io, f.path)) throw new CliError(`refusing to overwrite existing ${f.what}: ${f.path}`);
  }
  const written: string[] = [];
  try {
    for (const f of files) {
      const full = resolve(io.cwd, f.path);
      let handle;
      try {
        handle = await open(full, 'wx', 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException)?.code === 'EEXIST') {
          throw new CliError(`refusing to overwrite existing ${f.what}: ${f.path}`);
        }
        throw new CliError(`error while writing -${f.flag} ${f.path}: ${reason(err)}`);
      }
      written.push(full);
      try {
        await handle.writeFile(f.data);
      } catch (err) {
        throw new CliError(`error while writing -${f.flag} ${f.path}: ${reason(err)}`);
      } finally {
        await handle.close();
      }
    }
  } catch (err) {
    await Promise.all(written.map((p) => unlink(p).catch(() => undefined)));
    throw err;
  }
}
