// Which directory the control socket may live in. The daemon never changes a directory it did not create
// (a `chmod 700 /tmp` once took a host down); it refuses instead. Two policies, see docs/security-model.md:
//
// - a default directory (/run/mesh, <tmpdir>/mesh-<uid>) is the daemon's own: it is created 0700, and one found
//   already there must be a real directory (not a symlink) of the daemon's user that nobody else can enter;
// - the directory of an explicit `control.socket` is the admin's choice: missing directories are created 0700,
//   an existing one is used as it is, but only if nobody except its owner can write in it and its owner is the
//   daemon's user or root. Anyone else who may write there could put their own socket at our path (or, with the
//   sticky bit, squat the name before we start), and a client would talk to them.

import { lstatSync, mkdirSync, statSync, type Stats } from 'node:fs';
import { ControlSocketError } from './socket-error.js';

const myUid = (): number => process.getuid?.() ?? 0;

const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');

/** Makes `dir` (mode 0700, its parent must exist) or checks that an existing one is ours and private. */
export function ensureOwnDir(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = lstatSync(dir);
  const uid = myUid();
  if (!st.isDirectory()) throw new ControlSocketError(`${dir} is not a directory`);
  if (st.uid !== uid)
    throw new ControlSocketError(`${dir} belongs to uid ${st.uid}, not to us (uid ${uid}); it is left as it is`);
  if ((st.mode & 0o077) !== 0) {
    throw new ControlSocketError(
      `${dir} has mode ${octal(st.mode)}, others may enter it; it is left as it is: remove it or make it 0700`,
    );
  }
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * Checks the directory of an explicit `control.socket` (`socketPath` is named in the error), creating it 0700 when
 * it does not exist. An existing directory is followed through symlinks (/var/run -> /run) and never modified.
 */
export function ensureConfiguredDir(dir: string, socketPath: string): void {
  const refuse = (why: string): never => {
    throw new ControlSocketError(
      `control.socket ${socketPath}: ${why}; choose a directory only the daemon's user can write in (e.g. /run/mesh/), the daemon will not change ${dir}`,
    );
  };
  // recursive: no error when it exists; what it created is ours and 0700 (the umask can only narrow it).
  if (statOrNull(dir) === null) mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Checked after mkdir as well: someone may have made the directory between our stat and mkdir.
  const st = statSync(dir);
  const uid = myUid();
  if (!st.isDirectory()) refuse(`${dir} is not a directory`);
  if (st.uid !== uid && st.uid !== 0) refuse(`${dir} belongs to uid ${st.uid}, who could replace the socket`);
  if ((st.mode & 0o022) !== 0) refuse(`${dir} is writable by its group or by everyone (mode ${octal(st.mode)})`);
}
