// Where a daemon's control socket lives. `control.socket` wins; otherwise the path is derived from the config path,
// so that several daemons on one machine (one per network namespace, say) each get their own socket and a client
// given the same `-config` finds the right one:
//
//   /run/mesh/<first 12 hex of sha1(absolute config path)>.sock            when /run/mesh is ours (root)
//   <os.tmpdir()>/mesh-<uid>/<same>.sock                                   otherwise
//
// Both directories are made 0700 (one found already there must be ours and 0700, it is never changed) and the
// socket 0600: only the daemon's user (root) gets in. See socket-dir.ts for an explicit control.socket.

import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

export const RUN_DIR = '/run/mesh';

export function canonicalConfigPath(configPath: string): string {
  try {
    return realpathSync(configPath);
  } catch {
    return resolve(configPath);
  }
}

export function socketName(configPath: string): string {
  return createHash('sha1').update(canonicalConfigPath(configPath)).digest('hex').slice(0, 12) + '.sock';
}

export function fallbackDir(uid = process.getuid?.() ?? 0): string {
  return join(tmpdir(), `mesh-${uid}`);
}

/** Candidate paths in the order the daemon tries to create them and a client looks for them. */
export function defaultSocketPaths(configPath: string): string[] {
  const name = socketName(configPath);
  return [join(RUN_DIR, name), join(fallbackDir(), name)];
}

/** An explicit `control.socket`, relative to the config's directory when not absolute. */
export function configuredSocketPath(socket: string, configBaseDir: string): string {
  return isAbsolute(socket) ? socket : resolve(configBaseDir, socket);
}
