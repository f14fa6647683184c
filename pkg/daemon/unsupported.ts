// Nebula 1.6.1 settings that mesh reads but does not act on, each named once at start so nobody relies on one by
// mistake. (stats.type graphite is reported by the metrics setup.)

import type { MeshConfig } from '../config/index.js';

export function unsupportedSettings(c: MeshConfig): string[] {
  const out: string[] = [];
  if (c.sshd.enabled === true || c.sshd.enabled === 'true' || c.sshd.enabled === 'yes') {
    out.push('sshd.enabled: the ssh debug console is not part of mesh; use `mesh status`, `mesh ping` and the other subcommands');
  }
  if (c.routines > 1) out.push(`routines: ${c.routines} is accepted but mesh runs one packet loop (batched I/O instead of threads)`);
  return out;
}
