// Nebula settings (1.6.1 and the keys 1.7-1.11 added) that mesh reads and checks but does not act on, each named
// once at start when it is set, so nobody relies on one by mistake (docs/compatibility.md lists them all).
// (stats.type graphite is reported by the metrics setup.)

import type { MeshConfig } from '../config/index.js';

export function unsupportedSettings(c: MeshConfig): string[] {
  const out: string[] = [];
  if (c.sshd.enabled === true || c.sshd.enabled === 'true' || c.sshd.enabled === 'yes') {
    out.push(
      'sshd.enabled: the ssh debug console is not part of mesh; use `mesh status`, `mesh ping` and the other subcommands',
    );
  }
  if (c.routines > 1)
    out.push(`routines: ${c.routines} is accepted but mesh runs one packet loop (batched I/O instead of threads)`);
  if (c.listen.soMark !== 0)
    out.push(`listen.so_mark: ${c.listen.soMark} is not applied; mesh's packets leave unmarked`);
  const later = c.later;
  if (
    later.staticMapCadenceMs !== undefined ||
    later.staticMapNetwork !== undefined ||
    later.staticMapLookupTimeoutMs !== undefined
  ) {
    out.push(
      'static_map: mesh resolves static_host_map names (IPv4 and IPv6) at start and on reload, not on a cadence',
    );
  }
  if (later.tunnelsDropInactive === true) {
    out.push('tunnels.drop_inactive: not implemented; idle tunnels stay up until liveness checks fail');
  }
  if (later.requeryWaitMs !== undefined) {
    out.push('timers.requery_wait_duration: not applied; mesh asks the lighthouses again on its own schedule');
  }
  return out;
}
