// lighthouse and static_host_map: how this node finds others (and, as a lighthouse, is found).

import { canonicalVpnIp, parseHostPort } from './addresses.js';
import { readAllowList, readLocalAllowList, readRemoteAllowRanges } from './allow-lists.js';
import { readCalculatedRemotes } from './calculated-remotes.js';
import { readLighthouseStore } from './section-lighthouse-store.js';
import { DEFAULTS } from './defaults.js';
import { ConfigErrorCode } from './errors.js';
import type { KeyPath } from './errors.js';
import type { LighthouseConfig } from './mesh-config.js';
import type { ConfigReader } from './reader.js';
import { readBool, readDurationMs, readInt, readMap, readString, readStringList } from './typed-values.js';

export function readStaticHostMap(r: ConfigReader): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const raw = readMap(r, ['static_host_map']) ?? {};
  r.keepRaw(['static_host_map']); // every entry is checked below
  for (const [vpnIp, value] of Object.entries(raw)) {
    const at = ['static_host_map', vpnIp];
    const ip = canonicalVpnIp(vpnIp);
    if (ip === undefined) throw r.error(ConfigErrorCode.value, at, `"${vpnIp}" is not a VPN address (IPv4 or IPv6)`);
    // Nebula also takes a single "host:port" instead of a list.
    const addrs = typeof value === 'string' ? [value] : readStringList(r, at);
    addrs.forEach((addr, i) => checkHostPort(r, typeof value === 'string' ? at : [...at, i], addr));
    out.set(ip, [...(out.get(ip) ?? []), ...addrs]);
  }
  return out;
}

/** lighthouse.second_port when absent: on (for a lighthouse), on an ephemeral port. */
export const SECOND_PORT_DEFAULT = { enabled: true, port: 0 };

export function readLighthouse(r: ConfigReader): LighthouseConfig {
  const hosts = readStringList(r, ['lighthouse', 'hosts']).map((host, i) => {
    const ip = canonicalVpnIp(host);
    if (ip === undefined)
      throw r.error(ConfigErrorCode.value, ['lighthouse', 'hosts', i], `"${host}" is not a VPN address (IPv4 or IPv6)`);
    return ip;
  });
  const advertiseAddrs = readStringList(r, ['lighthouse', 'advertise_addrs']);
  advertiseAddrs.forEach((addr, i) => checkHostPort(r, ['lighthouse', 'advertise_addrs', i], addr));

  return {
    amLighthouse: readBool(r, ['lighthouse', 'am_lighthouse'], false),
    serveDns: readBool(r, ['lighthouse', 'serve_dns'], false),
    dns: {
      host: readString(r, ['lighthouse', 'dns', 'host'], ''),
      port: readInt(r, ['lighthouse', 'dns', 'port'], DEFAULTS.dnsPort, 0, 65535),
    },
    interval:
      readDurationMs(r, ['lighthouse', 'interval'], DEFAULTS.lighthouseIntervalSeconds * 1000, { bareSeconds: true }) /
      1000,
    hosts,
    remoteAllowList: readAllowList(r, ['lighthouse', 'remote_allow_list']),
    remoteAllowRanges: readRemoteAllowRanges(r, ['lighthouse', 'remote_allow_ranges']),
    localAllowList: readLocalAllowList(r, ['lighthouse', 'local_allow_list']),
    advertiseAddrs,
    calculatedRemotes: readCalculatedRemotes(r),
    // Only when configured, so a Nebula config reads back exactly as Nebula's keys say (default: memory).
    ...(r.value(['lighthouse', 'store']) === undefined ? {} : { store: readLighthouseStore(r) }),
    // Only when configured, so a Nebula config reads back exactly as Nebula's keys say (defaults: SECOND_PORT_DEFAULT).
    ...(r.value(['lighthouse', 'second_port']) === undefined
      ? {}
      : {
          secondPort: {
            enabled: readBool(r, ['lighthouse', 'second_port', 'enabled'], SECOND_PORT_DEFAULT.enabled),
            port: readInt(r, ['lighthouse', 'second_port', 'port'], SECOND_PORT_DEFAULT.port, 0, 65535),
          },
        }),
  };
}

/** Startup checks Nebula makes that involve more than one key. */
export function checkLighthouseRelations(
  r: ConfigReader,
  lh: LighthouseConfig,
  staticHostMap: Map<string, string[]>,
  listenPort: number,
): void {
  if (lh.amLighthouse && listenPort === 0) {
    throw r.error(
      ConfigErrorCode.value,
      ['lighthouse', 'am_lighthouse'],
      'a lighthouse needs a fixed listen.port (not 0)',
    );
  }
  if (lh.amLighthouse && lh.secondPort?.enabled && lh.secondPort.port !== 0 && lh.secondPort.port === listenPort) {
    throw r.error(
      ConfigErrorCode.value,
      ['lighthouse', 'second_port', 'port'],
      `must differ from listen.port (${listenPort}); 0 picks a free one`,
    );
  }
  lh.hosts.forEach((host, i) => {
    if (!staticHostMap.has(host)) {
      throw r.error(
        ConfigErrorCode.value,
        ['lighthouse', 'hosts', i],
        `lighthouse ${host} has no static_host_map entry`,
      );
    }
  });
  if (lh.amLighthouse && lh.hosts.length > 0) {
    r.warn(['lighthouse', 'hosts'], 'a lighthouse normally lists no other lighthouses');
  }
}

function checkHostPort(r: ConfigReader, path: KeyPath, addr: string): void {
  const parsed = parseHostPort(addr);
  if (typeof parsed === 'string') {
    throw r.error(ConfigErrorCode.value, path, `expected "host:port" (IPv6 as "[::1]:4242"), got "${addr}": ${parsed}`);
  }
}
