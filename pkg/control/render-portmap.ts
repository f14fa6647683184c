// One line on port mapping (pkg/portmap/) for `mesh netcheck` and `mesh status`: which protocol mapped what on the
// gateway, for how long, and whether the lighthouses were told; or why nothing was mapped.

import type { PortMapReport } from '../portmap/node-portmap.js';

export function portMapLine(r: PortMapReport | null | undefined): string {
  if (r === null || r === undefined) return 'off';
  const m = r.mapping;
  if (m) {
    const told = r.advertised ? 'advertised to the lighthouses' : `not advertised: ${r.notAdvertisedWhy ?? 'unknown'}`;
    return `${m.protocol} on ${r.gateway ?? '?'}: ${m.externalIp}:${m.externalPort}, lifetime ${m.lifetimeSec} s (${m.expiresInSec} s left); ${told}`;
  }
  if (r.state === 'starting' || r.state === 'trying') return `trying${r.gateway ? ` on ${r.gateway}` : ''}`;
  if (r.state === 'stopped') return 'stopped';
  const why =
    r.reason ?? (r.failures.length > 0 ? r.failures.map((f) => `${f.protocol}: ${f.error}`).join('; ') : 'unknown');
  return `none${r.gateway ? ` on ${r.gateway}` : ''} (${why})`;
}
