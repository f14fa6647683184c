// Keys Nebula added in 1.7-1.11 that mesh reads and checks but does not act on (pkg/daemon/unsupported.ts names
// each one that is set), plus the platform keys that Nebula itself ignores on Linux. Checked like every other key,
// so a typo in one is still an error, and none of them shows up as "unknown".

import type { LaterReleaseKeys } from './mesh-config.js';
import type { ConfigReader } from './reader.js';
import { readBool, readChoice, readDurationMs, readInt } from './typed-values.js';

const INT32_MAX = 2 ** 31 - 1;

export function readLaterReleaseKeys(r: ConfigReader): LaterReleaseKeys {
  const optionalMs = (path: string[]): number | undefined => (r.has(path) ? readDurationMs(r, path, 0) : undefined);
  // Windows (1.11) and macOS (1.11) only: Nebula ignores them on Linux, so do we.
  readBool(r, ['listen', 'windows_bypass_wdf'], true);
  readBool(r, ['listen', 'rebind_on_network_change'], true);
  return {
    staticMapCadenceMs: optionalMs(['static_map', 'cadence']),
    staticMapNetwork: r.has(['static_map', 'network'])
      ? readChoice(r, ['static_map', 'network'], ['ip4', 'ip6', 'ip'] as const, 'ip4')
      : undefined,
    staticMapLookupTimeoutMs: optionalMs(['static_map', 'lookup_timeout']),
    tunnelsDropInactive: r.has(['tunnels', 'drop_inactive'])
      ? readBool(r, ['tunnels', 'drop_inactive'], false)
      : undefined,
    tunnelsInactivityTimeoutMs: optionalMs(['tunnels', 'inactivity_timeout']),
    requeryWaitMs: optionalMs(['timers', 'requery_wait_duration']),
    queryBuffer: r.has(['handshakes', 'query_buffer'])
      ? readInt(r, ['handshakes', 'query_buffer'], 64, 0, INT32_MAX)
      : undefined,
  };
}
