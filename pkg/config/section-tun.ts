// tun: the virtual interface and the routes Nebula installs on it.

import { parseCidr } from '../ip/ipv4.js';
import { canonicalIpv4 } from './addresses.js';
import { DEFAULTS } from './defaults.js';
import { ConfigErrorCode } from './errors.js';
import type { KeyPath } from './errors.js';
import type { TunConfig, TunRoute, UnsafeRoute } from './mesh-config.js';
import { isMap } from './reader.js';
import type { ConfigReader } from './reader.js';
import { checkInt, readBool, readInt, readList, readString } from './typed-values.js';

const INT32_MAX = 2 ** 31 - 1;

export function readTun(r: ConfigReader): TunConfig {
  const dev = readString(r, ['tun', 'dev'], '');
  return {
    disabled: readBool(r, ['tun', 'disabled'], false),
    dev: dev === '' ? undefined : dev,
    dropLocalBroadcast: readBool(r, ['tun', 'drop_local_broadcast'], false),
    dropMulticast: readBool(r, ['tun', 'drop_multicast'], false),
    txQueue: readInt(r, ['tun', 'tx_queue'], DEFAULTS.tunTxQueue, 0, INT32_MAX),
    mtu: readInt(r, ['tun', 'mtu'], DEFAULTS.tunMtu, DEFAULTS.minMtu, DEFAULTS.maxMtu),
    routes: readRoutes(r),
    unsafeRoutes: readUnsafeRoutes(r),
  };
}

/** tun.routes: `{mtu, route}`, both required. Whether the route lies inside the VPN network is checked later,
 * against the certificate. */
function readRoutes(r: ConfigReader): TunRoute[] {
  const list = readList(r, ['tun', 'routes']) ?? [];
  return list.map((item, i) => {
    const at = ['tun', 'routes', i];
    const entry = routeEntry(r, at, item, ['mtu', 'route']);
    return {
      mtu: checkInt(r, [...at, 'mtu'], required(r, at, entry, 'mtu'), DEFAULTS.minMtu, DEFAULTS.maxMtu),
      route: ipv4Cidr(r, [...at, 'route'], required(r, at, entry, 'route')),
    };
  });
}

/** tun.unsafe_routes: `{route, via}` required, `mtu` and `metric` optional. */
function readUnsafeRoutes(r: ConfigReader): UnsafeRoute[] {
  const list = readList(r, ['tun', 'unsafe_routes']) ?? [];
  return list.map((item, i) => {
    const at = ['tun', 'unsafe_routes', i];
    const entry = routeEntry(r, at, item, ['route', 'via', 'mtu', 'metric']);
    const via = required(r, at, entry, 'via');
    const viaIp = typeof via === 'string' ? canonicalIpv4(via) : undefined;
    if (viaIp === undefined) throw r.error(ConfigErrorCode.value, [...at, 'via'], `expected a VPN IPv4 address, got ${JSON.stringify(via)}`);
    // mtu 0 means "the tun MTU", as in Nebula.
    const mtu = entry.mtu === undefined || entry.mtu === null || entry.mtu === 0 ? undefined : checkInt(r, [...at, 'mtu'], entry.mtu, DEFAULTS.minMtu, DEFAULTS.maxMtu);
    const metric = entry.metric === undefined || entry.metric === null ? undefined : checkInt(r, [...at, 'metric'], entry.metric, 0, INT32_MAX);
    return { route: ipv4Cidr(r, [...at, 'route'], required(r, at, entry, 'route')), via: viaIp, mtu, metric };
  });
}

function routeEntry(r: ConfigReader, at: KeyPath, item: unknown, keys: string[]): Record<string, unknown> {
  if (!isMap(item)) throw r.typeError(at, 'a map', item);
  for (const key of Object.keys(item)) if (!keys.includes(key)) r.warn([...at, key], 'unknown key (ignored)');
  return item;
}

function required(r: ConfigReader, at: KeyPath, entry: Record<string, unknown>, key: string): unknown {
  const v = entry[key];
  if (v === undefined || v === null) throw r.error(ConfigErrorCode.missing, [...at, key], 'required');
  return v;
}

function ipv4Cidr(r: ConfigReader, path: KeyPath, v: unknown): string {
  if (typeof v !== 'string') throw r.typeError(path, 'an IPv4 CIDR like "10.0.0.0/24"', v);
  try {
    parseCidr(v);
  } catch {
    throw r.error(ConfigErrorCode.value, path, `expected an IPv4 CIDR like "10.0.0.0/24", got ${JSON.stringify(v)}`);
  }
  return v;
}
