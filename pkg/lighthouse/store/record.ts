// The two messages lighthouses of a tier exchange over NATS (docs/lighthouse-tier.md), as small versioned JSON:
//
//   bucket value, key = the host's overlay address (keyOf):
//     {"v":1,"ip":"10.1.0.5","lh":"10-1-0-1","t":1765000000000,
//      "learned":"198.51.100.7:4242","reported":["192.168.1.5:4242","[2001:db8::5]:4242"],"relays":["10.1.0.9"],
//      "ips":["10.1.0.5","fd00::5"]}      (ips: its overlay addresses, at most 8, when it has more than one)
//   punch request, on subject mesh.lh.<lh>.punch:
//     {"v":1,"target":"10.1.0.5","asker":"10.1.0.7","addrs":["203.0.113.9:4242"]}
//
// Everything read from NATS is hostile input: a size bound before parsing, a strict schema after it (unknown
// versions refused, lists bounded, addresses IP literals only). The allow lists are applied by the lighthouse
// server, as for a tunnel's report.

import { isIP } from 'node:net';
import { formatVpnIp, parseVpnIp, type VpnIp } from '../../ip/vpn-ip.js';
import { udpAddr, type UdpAddr } from '../../udp/addr.js';
import type { PunchRequest, RemoteHost, ServedHost } from './store.js';

export const RECORD_VERSION = 1;
/** As the server keeps (server.ts MAX_REPORTED, MAX_RELAYS): 10 reported per family, 16 relays per family. */
const MAX_ADDRS = 20;
const MAX_RELAY_ENTRIES = 32;
/**
 * Overlay addresses of one host written and read (a record's `ips`, a punch request's `askers`): a certificate's
 * networks, a handful in practice, but nothing bounds their number, so the writer keeps the first MAX_OVERLAY_ADDRS
 * (capOverlayAddrs) and a reader accepts exactly what a writer can write.
 */
export const MAX_OVERLAY_ADDRS = 8;
/** A full record (10+10 reported IPv6 addresses, 2x16 IPv6 relays) is ~2.2 KB; anything larger is refused unread. */
export const MAX_RECORD_BYTES = 4096;
/** The longest certificate name shared (a DNS name's 253 characters). */
export const MAX_NAME_LENGTH = 253;
/** A lighthouse id: a NATS subject token and a KV-safe string. */
export const LIGHTHOUSE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export class RecordError extends Error {
  override readonly name = 'RecordError';
}

/** The bucket key of a host: its overlay address as text, with IPv6's ':' (not allowed in a KV key) as '_'. */
export function keyOf(vpnIp: VpnIp): string {
  return formatVpnIp(vpnIp).replaceAll(':', '_');
}

export function vpnIpOfKey(key: string): VpnIp {
  return parseVpnIp(key.replaceAll('_', ':'));
}

/** The default lighthouse id: its overlay address with '.' and ':' as '-'. */
export function defaultLighthouseId(vpnIp: VpnIp): string {
  return formatVpnIp(vpnIp).replace(/[.:]/g, '-');
}

export function encodeRecord(host: ServedHost, servedBy: string, writtenAt: number): Uint8Array {
  return json({
    v: RECORD_VERSION,
    ip: formatVpnIp(host.vpnIp),
    lh: servedBy,
    t: writtenAt,
    learned: host.learned ? formatAddr(host.learned) : null,
    reported: host.reported.map(formatAddr),
    relays: host.relays.map(formatVpnIp),
    // Only for a host with several addresses: a single-address record stays as small as before.
    ...(host.vpnAddrs && host.vpnAddrs.length > 1
      ? { ips: capOverlayAddrs(host.vpnIp, host.vpnAddrs).map(formatVpnIp) }
      : {}),
    // A name DNS could not ask for is left out rather than making the whole record invalid for the readers.
    ...(host.name !== undefined && isShareableName(host.name) ? { name: host.name } : {}),
  });
}

/** A bucket value under `key`; throws RecordError when it is not a valid record for that key. */
export function decodeRecord(key: string, bytes: Uint8Array): RemoteHost {
  const o = parseObject(bytes);
  const vpnIp = ipField(o.ip, 'ip');
  let keyIp: VpnIp;
  try {
    keyIp = vpnIpOfKey(key);
  } catch {
    throw new RecordError('key is not an overlay address');
  }
  if (keyIp !== vpnIp) throw new RecordError('record names another host than its key');
  // One key per host: an alias (`__ffff_10.1.0.5`, `010.1.0.5`) would be cached where no lookup or delete looks.
  if (keyOf(vpnIp) !== key) throw new RecordError('key is not the canonical form of its address');
  if (typeof o.lh !== 'string' || !LIGHTHOUSE_ID.test(o.lh)) throw new RecordError('lh is not a lighthouse id');
  if (typeof o.t !== 'number' || !Number.isSafeInteger(o.t) || o.t < 0) throw new RecordError('t is not a time');
  const vpnAddrs =
    o.ips === undefined ? undefined : listField(o.ips, 'ips', MAX_OVERLAY_ADDRS).map((v) => ipField(v, 'ips'));
  if (vpnAddrs && !vpnAddrs.includes(vpnIp)) throw new RecordError("ips leave out the record's own address");
  return {
    vpnIp,
    ...(vpnAddrs ? { vpnAddrs } : {}),
    servedBy: o.lh,
    writtenAt: o.t,
    learned: o.learned === null ? null : addrField(o.learned, 'learned'),
    reported: listField(o.reported, 'reported', MAX_ADDRS).map((a) => addrField(a, 'reported')),
    relays: listField(o.relays, 'relays', MAX_RELAY_ENTRIES).map((r) => ipField(r, 'relays')),
    ...(o.name === undefined ? {} : { name: nameField(o.name) }),
  };
}

export function encodePunch(request: PunchRequest): Uint8Array {
  return json({
    v: RECORD_VERSION,
    target: formatVpnIp(request.target),
    asker: formatVpnIp(request.asker),
    ...(request.askers !== undefined
      ? { askers: capOverlayAddrs(request.asker, request.askers).map(formatVpnIp) }
      : {}),
    addrs: request.askerAddrs.map(formatAddr),
  });
}

export function decodePunch(bytes: Uint8Array): PunchRequest {
  const o = parseObject(bytes);
  const asker = ipField(o.asker, 'asker');
  const askers =
    o.askers === undefined
      ? undefined
      : listField(o.askers, 'askers', MAX_OVERLAY_ADDRS).map((a) => ipField(a, 'askers'));
  // The writer puts `asker` first; a request naming one asker and punching toward another would slip past the
  // per-asker bound (docs/lighthouse-tier.md, Bounded punches).
  if (askers && askers[0] !== asker) throw new RecordError('askers do not start with asker');
  return {
    target: ipField(o.target, 'target'),
    asker,
    ...(askers ? { askers } : {}),
    askerAddrs: listField(o.addrs, 'addrs', MAX_ADDRS + 2).map((a) => addrField(a, 'addrs')),
  };
}

/**
 * At most MAX_OVERLAY_ADDRS of a host's overlay addresses, in their order, `own` (the record's address, the asker)
 * always among them. A host with more is judged by remote_allow_list on the ones kept (docs/lighthouse-tier.md).
 */
export function capOverlayAddrs(own: VpnIp, all: readonly VpnIp[]): readonly VpnIp[] {
  if (all.length <= MAX_OVERLAY_ADDRS) return all;
  const head = all.slice(0, MAX_OVERLAY_ADDRS);
  return head.includes(own) ? head : [...all.slice(0, MAX_OVERLAY_ADDRS - 1), own];
}

function json(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function parseObject(bytes: Uint8Array): Record<string, unknown> {
  if (bytes.length > MAX_RECORD_BYTES) throw new RecordError(`larger than ${MAX_RECORD_BYTES} bytes`);
  let o: unknown;
  try {
    o = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
  } catch {
    throw new RecordError('not JSON');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new RecordError('not an object');
  const rec = o as Record<string, unknown>;
  if (rec.v !== RECORD_VERSION) throw new RecordError('unknown version');
  return rec;
}

/** A certificate name, as DNS will compare it: printable, at most a DNS name's length. */
function nameField(v: unknown): string {
  if (typeof v !== 'string' || !isShareableName(v)) throw new RecordError('name is not a host name');
  return v;
}

export function isShareableName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && /^[\x21-\x7e]*$/.test(name);
}

function listField(v: unknown, name: string, max: number): unknown[] {
  if (!Array.isArray(v)) throw new RecordError(`${name} is not a list`);
  if (v.length > max) throw new RecordError(`${name} has more than ${max} entries`);
  return v;
}

function ipField(v: unknown, name: string): VpnIp {
  if (typeof v !== 'string' || v.length > 45) throw new RecordError(`${name} is not an IP address`);
  try {
    return parseVpnIp(v);
  } catch {
    throw new RecordError(`${name} is not an IP address`);
  }
}

/** "a.b.c.d:port" or "[v6]:port", an IP literal (never a name: nothing read from NATS makes us resolve). */
function addrField(v: unknown, name: string): UdpAddr {
  if (typeof v !== 'string' || v.length > 64) throw new RecordError(`${name}: not an address`);
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(v);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || !host || isIP(host) !== (m[1] ? 6 : 4) || port > 65535) throw new RecordError(`${name}: not an address`);
  return udpAddr(host, port);
}

function formatAddr(a: UdpAddr): string {
  return a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
