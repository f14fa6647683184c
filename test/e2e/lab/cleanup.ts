import { spawnSync } from 'node:child_process';

// Last-resort cleanup. Tests call lab.destroy() (Lab.create registers it with t.after); this registry catches the
// rest: a test process that exits or is told to stop (SIGINT/SIGTERM, as the test runner does on timeout) with a lab
// still alive tears it down synchronously on the way out. SIGKILL cannot be caught; sweepStaleLabs() handles that.

export interface SyncDestroyable {
  destroySync(): void;
}

const live = new Set<SyncDestroyable>();
let hooked = false;

export function registerLive(lab: SyncDestroyable): void {
  live.add(lab);
  if (hooked) return;
  hooked = true;
  process.on('exit', destroyAllSync);
  for (const [signal, status] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      destroyAllSync();
      process.exit(status);
    });
  }
}

export function unregisterLive(lab: SyncDestroyable): void {
  live.delete(lab);
}

function destroyAllSync(): void {
  for (const lab of [...live]) {
    try {
      lab.destroySync();
    } catch {
      // Best effort on the way out.
    }
    live.delete(lab);
  }
}

/** Every namespace a lab makes is named `mlab<pid>x<hex>-<name>`. */
export const LAB_NS_PATTERN = /^mlab(\d+)x[0-9a-f]+-/;

/** SIGKILLs the processes inside namespace `ns`, then deletes it (which also deletes its veths and bridges). */
export function deleteNamespaceSync(ns: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 5000 }).stdout ?? '';
  for (const pid of pids.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  spawnSync('ip', ['netns', 'del', ns], { timeout: 5000 });
}

/**
 * Deletes namespaces left by labs whose test process is gone (killed with SIGKILL, machine reset).
 * Opt-in: a lab belonging to a live process is never touched. Returns the names deleted.
 */
export function sweepStaleLabs(): string[] {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 5000 }).stdout ?? '';
  const swept: string[] = [];
  for (const line of list.split('\n')) {
    const ns = line.split(' ')[0] ?? '';
    const m = LAB_NS_PATTERN.exec(ns);
    if (m === null || processAlive(Number(m[1]))) continue;
    deleteNamespaceSync(ns);
    swept.push(ns);
  }
  return swept;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
