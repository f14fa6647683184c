import { writeFileSync } from 'node:fs';

import yaml from 'js-yaml';

// Overlay node configs in Nebula's config.yml schema (mesh reads the same file), with defaults suited to the lab:
// fixed port 4242, punchy on, relays usable, every packet allowed by the firewall, text logs at info.

export type Cipher = 'aes' | 'chachapoly';
export type LogLevel = 'panic' | 'fatal' | 'error' | 'warning' | 'info' | 'debug' | 'trace';

export interface LighthouseRef {
  vpnIp: string;
  /** Underlay "ip:port" entries for static_host_map. */
  endpoints: string[];
}

export interface OverlayConfigInput {
  pki: { ca: string; cert: string; key: string };
  /** Tun device name; unique per namespace. */
  tunDev: string;
  tunDisabled?: boolean;
  listenHost?: string;
  listenPort?: number;
  cipher?: Cipher;
  logLevel?: LogLevel;
  amLighthouse?: boolean;
  /** Lighthouses this node reports to (leave empty on a lighthouse). */
  lighthouses?: LighthouseRef[];
  /** Extra static_host_map entries: vpnIp -> ["ip:port", …]. */
  staticHosts?: Record<string, string[]>;
  /** lighthouse.interval in seconds (Nebula's default 10). */
  lighthouseInterval?: number;
  amRelay?: boolean;
  /** VPN IPs of relays that can reach this node. */
  relays?: string[];
  useRelays?: boolean;
  punchy?: { punch?: boolean; respond?: boolean; delay?: string };
  /** Replaces the allow-all firewall. */
  firewall?: Record<string, unknown>;
  /** Deep-merged over the result last (objects merge, anything else replaces). */
  overrides?: Record<string, unknown>;
}

export const ALLOW_ALL_FIREWALL = {
  conntrack: { tcp_timeout: '12m', udp_timeout: '3m', default_timeout: '10m' },
  outbound: [{ port: 'any', proto: 'any', host: 'any' }],
  inbound: [{ port: 'any', proto: 'any', host: 'any' }],
};

export function overlayConfig(input: OverlayConfigInput): Record<string, unknown> {
  const lighthouses = input.lighthouses ?? [];
  const staticHostMap: Record<string, string[]> = { ...input.staticHosts };
  for (const lh of lighthouses) staticHostMap[lh.vpnIp] = lh.endpoints;
  const config: Record<string, unknown> = {
    pki: input.pki,
    static_host_map: staticHostMap,
    lighthouse: {
      am_lighthouse: input.amLighthouse ?? false,
      interval: input.lighthouseInterval ?? 10,
      hosts: input.amLighthouse ? [] : lighthouses.map((lh) => lh.vpnIp),
    },
    listen: { host: input.listenHost ?? '0.0.0.0', port: input.listenPort ?? 4242 },
    punchy: { punch: true, respond: false, delay: '1s', ...input.punchy },
    cipher: input.cipher ?? 'aes',
    relay: { am_relay: input.amRelay ?? false, use_relays: input.useRelays ?? true, relays: input.relays ?? [] },
    tun: { disabled: input.tunDisabled ?? false, dev: input.tunDev, mtu: 1300, routes: [], unsafe_routes: [] },
    logging: { level: input.logLevel ?? 'info', format: 'text' },
    firewall: input.firewall ?? ALLOW_ALL_FIREWALL,
  };
  return input.overrides === undefined ? config : deepMerge(config, input.overrides);
}

export function writeOverlayConfig(path: string, config: Record<string, unknown>): void {
  writeFileSync(path, yaml.dump(config, { lineWidth: 200, noRefs: true }));
}

/** Plain objects merge key by key; arrays and scalars in `over` replace those in `base`. */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prior = out[key];
    out[key] = isPlainObject(prior) && isPlainObject(value) ? deepMerge(prior, value) : value;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
