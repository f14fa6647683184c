// tun: the virtual interface and the routes Nebula installs on it.

import { canonicalVpnIp, isVpnCidr } from './addresses.js';
import { DEFAULTS } from './defaults.js';
import { ConfigErrorCode } from './errors.js';
import type { KeyPath } from './errors.js';
import type { TunConfig, TunRoute, UnsafeGateway, UnsafeRoute } from './mesh-config.js';
import { isMap } from './reader.js';
import type { ConfigReader } from './reader.js';
import { checkInt, parseBool, readBool, readChoice, readInt, readList, readString } from './typed-values.js';

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
    udpOffload: readBool(r, ['tun', 'udp_offload'], true),
    ...readSystemRouteTable(r),
  };
}

/** tun.use_system_route_table and its buffer size (Nebula 1.7+, Linux), and the Windows-only keys of 1.11, which
 * Nebula ignores on Linux too. */
function readSystemRouteTable(
  r: ConfigReader,
): Pick<TunConfig, 'useSystemRouteTable' | 'useSystemRouteTableBufferSize'> {
  const useSystemRouteTableBufferSize = readInt(r, ['tun', 'use_system_route_table_buffer_size'], 0, 0, INT32_MAX);
  readChoice(r, ['tun', 'network_category'], ['private', 'public', 'domain', 'unset'] as const, 'private');
  readBool(r, ['tun', 'windows_bypass_wdf'], true);
  return { useSystemRouteTable: readBool(r, ['tun', 'use_system_route_table'], false), useSystemRouteTableBufferSize };
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
      route: vpnCidr(r, [...at, 'route'], required(r, at, entry, 'route')),
    };
  });
}

/** tun.unsafe_routes: `{route, via}` required, `mtu`, `metric` and `install` (Nebula 1.7+) optional. `via` is one
 * VPN address or (Nebula 1.10+) a list of `{gateway, weight}`. */
function readUnsafeRoutes(r: ConfigReader): UnsafeRoute[] {
  const list = readList(r, ['tun', 'unsafe_routes']) ?? [];
  return list.map((item, i) => {
    const at = ['tun', 'unsafe_routes', i];
    const entry = routeEntry(r, at, item, ['route', 'via', 'mtu', 'metric', 'install']);
    const via = readGateways(r, [...at, 'via'], required(r, at, entry, 'via'));
    // mtu 0 means "the tun MTU", as in Nebula.
    const mtu =
      entry.mtu === undefined || entry.mtu === null || entry.mtu === 0
        ? undefined
        : checkInt(r, [...at, 'mtu'], entry.mtu, DEFAULTS.minMtu, DEFAULTS.maxMtu);
    const metric =
      entry.metric === undefined || entry.metric === null
        ? undefined
        : checkInt(r, [...at, 'metric'], entry.metric, 0, INT32_MAX);
    let install = true;
    if (entry.install !== undefined && entry.install !== null) {
      const parsed = parseBool(entry.install);
      if (parsed === undefined) throw r.typeError([...at, 'install'], 'a boolean (true/false)', entry.install);
      install = parsed;
    }
    return { route: vpnCidr(r, [...at, 'route'], required(r, at, entry, 'route')), via, mtu, metric, install };
  });
}

function readGateways(r: ConfigReader, at: KeyPath, via: unknown): UnsafeGateway[] {
  if (typeof via === 'string') return [{ gateway: vpnAddress(r, at, via), weight: 1 }];
  if (!Array.isArray(via) || via.length === 0)
    throw r.typeError(at, 'a VPN address or a list of {gateway, weight}', via);
  const seen = new Set<string>();
  return via.map((item, g) => {
    const gAt = [...at, g];
    const entry = routeEntry(r, gAt, item, ['gateway', 'weight']);
    const gateway = vpnAddress(r, [...gAt, 'gateway'], required(r, gAt, entry, 'gateway'));
    // Twice the same gateway would only skew the weights; Nebula keeps both, which is surely not what was meant.
    if (seen.has(gateway)) throw r.error(ConfigErrorCode.value, [...gAt, 'gateway'], `${gateway} is listed twice`);
    seen.add(gateway);
    const weight =
      entry.weight === undefined || entry.weight === null
        ? 1
        : checkInt(r, [...gAt, 'weight'], entry.weight, 1, INT32_MAX);
    return { gateway, weight };
  });
}

function vpnAddress(r: ConfigReader, at: KeyPath, v: unknown): string {
  const ip = typeof v === 'string' ? canonicalVpnIp(v) : undefined;
  if (ip === undefined)
    throw r.error(ConfigErrorCode.value, at, `expected a VPN address (IPv4 or IPv6), got ${JSON.stringify(v)}`);
  return ip;
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

/** A route: an IPv4 CIDR, or an IPv6 one (Nebula 1.10+ with v2 certificates: docs/ipv6.md). */
function vpnCidr(r: ConfigReader, path: KeyPath, v: unknown): string {
  if (typeof v !== 'string') throw r.typeError(path, 'an IPv4 or IPv6 CIDR like "10.0.0.0/24"', v);
  if (!isVpnCidr(v))
    throw r.error(
      ConfigErrorCode.value,
      path,
      `expected an IPv4 CIDR like "10.0.0.0/24" or an IPv6 one like "fd00:1::/64", got ${JSON.stringify(v)}`,
    );
  return v;
}
