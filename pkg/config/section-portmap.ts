// Mesh-only `portmap` section: asking the home router (PCP, NAT-PMP, UPnP-IGD) to forward the listen port, so that
// peers behind port-rewriting NATs can reach us directly (pkg/portmap/). Nebula 1.6.1 has no such section.
//
//   portmap:
//     enabled: true     # try PCP, then NAT-PMP, then UPnP-IGD at start and after address changes
//     lifetime: 2h      # the lifetime asked for; renewed at half of what the router grants

import { ConfigErrorCode } from './errors.js';
import type { ConfigReader } from './reader.js';
import { readBool, readDurationMs } from './typed-values.js';

export interface PortMapConfig {
  enabled: boolean;
  /** Requested lifetime in seconds. */
  lifetimeSec: number;
}

export const PORTMAP_DEFAULT_LIFETIME_MS = 2 * 3600_000;

export function readPortMap(r: ConfigReader): PortMapConfig {
  const lifetimeMs = readDurationMs(r, ['portmap', 'lifetime'], PORTMAP_DEFAULT_LIFETIME_MS, { minMs: 60_000 });
  // PCP and NAT-PMP carry 32-bit seconds; routers cap far lower (miniupnpd: a day).
  if (lifetimeMs > 86_400_000) throw r.error(ConfigErrorCode.range, ['portmap', 'lifetime'], 'must be at most 24h');
  return { enabled: readBool(r, ['portmap', 'enabled'], true), lifetimeSec: Math.round(lifetimeMs / 1000) };
}
