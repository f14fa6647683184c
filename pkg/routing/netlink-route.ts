// Route change messages from the kernel (rtnetlink RTM_NEWROUTE / RTM_DELROUTE, IPv4 and IPv6), as read from the
// socket of pkg/native/netlink.c, turned into what tun.use_system_route_table needs: a destination network and the
// VPN gateways of the route's next hops on our TUN (docs/compatibility.md, docs/ipv6.md). Pure: no sockets, no
// logging, so it can be fed anything (test/unit/fuzz-netlink-route.test.ts).
//
// Layout (little-endian, every item padded to 4 bytes):
//   nlmsghdr  len u32, type u16, flags u16, seq u32, pid u32                       16 bytes
//   rtmsg     family, dst_len, src_len, tos, table, protocol, scope, type (u8), flags u32   12 bytes
//   rtattr    len u16, type u16, value                                              (repeated)
//   RTA_MULTIPATH holds rtnexthop { len u16, flags u8, hops u8, ifindex i32 } each followed by its own rtattrs.
// A nexthop's weight is hops + 1 (hops 0 = weight 1), as `ip route ... nexthop ... weight N` writes it.
// Addresses (RTA_DST, RTA_GATEWAY) have the route family's length, 4 or 16 bytes; RTA_VIA carries its own family,
// so an IPv4 route may have an IPv6 gateway (`ip route add ... via inet6 fd00::2`), which Nebula 1.10+ follows too.
//
// IPv4 and IPv6 differ in one way that matters here: an IPv4 route is replaced or deleted whole, while the kernel
// deletes an IPv6 multipath route one next hop at a time (`ip -6 route del X via A` leaves the others, and says
// "deleted X via A"). So an IPv6 RTM_DELROUTE is a 'delete-hops': the route loses the next hops it names and is
// gone once none is left. A whole IPv6 route deleted names all of its next hops, so it goes too.

import { ipv4Addr, ipv6Addr, type IpPrefix } from '../ip/prefix.js';
import { vpnIp6FromBytes, vpnIpInPrefix, type VpnIp } from '../ip/vpn-ip.js';

const NLMSG_HDRLEN = 16;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;
const NLM_F_DUMP_INTR = 0x10;
const RTM_GETROUTE = 26;
const RTMSG_LEN = 12;
const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const AF_UNSPEC = 0;
const AF_INET = 2;
const AF_INET6 = 10;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_MULTIPATH = 9;
const RTA_TABLE = 15;
const RTA_VIA = 18;
const RTNH_LEN = 8;

export interface SystemGateway {
  readonly vpnIp: VpnIp;
  readonly weight: number;
}

/**
 * One route the kernel added or removed whose next hops include our TUN. A route added that we do not follow (on
 * another device, without a VPN gateway) is a 'delete' with no gateways: when it has the key of one we hold
 * (`ip route replace` to another device), the kernel has just replaced ours, so we must stop following it.
 * 'delete-hops' (IPv6 deletes, see above): the route loses `gateways` and is gone when none is left.
 */
export interface RouteChange {
  readonly kind: 'add' | 'delete' | 'delete-hops';
  /** The destination network, host bits clear; IPv4 or IPv6. */
  readonly dst: IpPrefix;
  /** Routing table and metric: with the destination, what tells two kernel routes apart. */
  readonly table: number;
  readonly metric: number;
  /** The next hops on our TUN whose gateway is inside a VPN network (never empty in an 'add' or 'delete-hops'). */
  readonly gateways: readonly SystemGateway[];
}

/** A route message that names our TUN but that we do not follow, and why (for a debug log). */
export interface IgnoredRoute {
  readonly reason: 'no-gateway' | 'gateway-outside-vpn';
  readonly dst: IpPrefix;
  readonly gateways: readonly VpnIp[];
}

export interface ParsedRoutes {
  changes: RouteChange[];
  ignored: IgnoredRoute[];
  /** Sequence numbers of the dumps (dumpRequest) this read ended with NLMSG_DONE... */
  ended: number[];
  /** ...of those it ended with an error... */
  failed: number[];
  /** ...and of those whose messages say the table changed during the dump, so it may miss or repeat routes. */
  interrupted: number[];
  /** Sequence numbers of all messages answering a request (events have 0): a dump under way still answers. */
  answering: number[];
}

/**
 * RTM_GETROUTE with NLM_F_DUMP for every family (AF_UNSPEC): the kernel answers with one RTM_NEWROUTE per route,
 * IPv4 and IPv6 (and multicast or MPLS routes, which the parser skips), then one NLMSG_DONE.
 */
export function dumpRequest(seq: number): Uint8Array {
  const req = new Uint8Array(NLMSG_HDRLEN + RTMSG_LEN);
  const view = new DataView(req.buffer);
  view.setUint32(0, req.length, true);
  view.setUint16(4, RTM_GETROUTE, true);
  view.setUint16(6, NLM_F_REQUEST | NLM_F_DUMP, true);
  view.setUint32(8, seq, true);
  req[NLMSG_HDRLEN] = AF_UNSPEC;
  return req;
}

interface NextHop {
  ifindex: number;
  gateway: VpnIp | null;
  weight: number;
}

/**
 * The IPv4 and IPv6 route changes in `buf` (one read from the socket: any number of messages, possibly cut short)
 * whose next hops go out through interface `tunIndex`; a gateway counts when it lies inside one of `vpnNetworks`.
 * Routes of other interfaces, other families and other message types are skipped silently; malformed bytes end the
 * parse without throwing.
 */
export function parseRouteMessages(buf: Uint8Array, tunIndex: number, vpnNetworks: readonly IpPrefix[]): ParsedRoutes {
  const out: ParsedRoutes = { changes: [], ignored: [], ended: [], failed: [], interrupted: [], answering: [] };
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = view.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > buf.length) break; // cut short or garbage: nothing after it is framed
    const type = view.getUint16(off + 4, true);
    const seq = view.getUint32(off + 8, true);
    if (seq !== 0 && !out.answering.includes(seq)) out.answering.push(seq);
    if ((view.getUint16(off + 6, true) & NLM_F_DUMP_INTR) !== 0 && !out.interrupted.includes(seq))
      out.interrupted.push(seq);
    if (type === RTM_NEWROUTE || type === RTM_DELROUTE) {
      parseRoute(view, off + NLMSG_HDRLEN, off + len, type === RTM_NEWROUTE, tunIndex, vpnNetworks, out);
    } else if (type === NLMSG_DONE) {
      out.ended.push(seq);
    } else if (type === NLMSG_ERROR) {
      out.failed.push(seq);
    }
    off += align4(len);
  }
  return out;
}

function parseRoute(
  view: DataView,
  start: number,
  end: number,
  added: boolean,
  tunIndex: number,
  vpnNetworks: readonly IpPrefix[],
  out: ParsedRoutes,
): void {
  if (start + RTMSG_LEN > end) return;
  const family = view.getUint8(start);
  if (family !== AF_INET && family !== AF_INET6) return;
  const addrLen = family === AF_INET ? 4 : 16;
  const dstLen = view.getUint8(start + 1);
  if (dstLen > addrLen * 8) return;
  let table = view.getUint8(start + 4);
  const dstBytes = new Uint8Array(addrLen);
  let metric = 0;
  let oif = -1;
  let gateway: VpnIp | null = null;
  const hops: NextHop[] = [];
  for (let a = start + RTMSG_LEN; a + 4 <= end;) {
    const alen = view.getUint16(a, true);
    if (alen < 4 || a + alen > end) return; // a malformed message is not followed at all
    const atype = view.getUint16(a + 2, true) & 0x3fff; // without NLA_F_NESTED / NLA_F_NET_BYTEORDER
    const v = a + 4;
    const vlen = alen - 4;
    // A destination or gateway not of the family's length: the message is not followed (it could name a route
    // we hold by a destination we misread).
    if ((atype === RTA_DST || atype === RTA_GATEWAY) && vlen !== addrLen) return;
    if (atype === RTA_DST) {
      for (let i = 0; i < addrLen; i++) dstBytes[i] = view.getUint8(v + i);
    } else if (atype === RTA_OIF && vlen === 4) oif = view.getInt32(v, true);
    else if (atype === RTA_PRIORITY && vlen === 4) metric = view.getUint32(v, true);
    else if (atype === RTA_TABLE && vlen === 4) table = view.getUint32(v, true);
    else if (atype === RTA_GATEWAY || atype === RTA_VIA) gateway = gatewayOf(view, atype, v, vlen, addrLen) ?? gateway;
    else if (atype === RTA_MULTIPATH && !parseNextHops(view, v, v + vlen, addrLen, hops)) return;
    a += align4(alen);
  }
  if (oif !== -1 || gateway !== null) hops.unshift({ ifindex: oif, gateway, weight: 1 });
  const ours = hops.filter((h) => h.ifindex === tunIndex);
  const dst = networkOf(dstBytes, dstLen);
  const stopFollowing = (): void => {
    if (added) out.changes.push({ kind: 'delete', dst, table, metric, gateways: [] });
  };
  if (ours.length === 0) return stopFollowing();
  const gateways: SystemGateway[] = [];
  const outside: VpnIp[] = [];
  for (const h of ours) {
    if (h.gateway === null) continue;
    const gw = h.gateway;
    if (vpnNetworks.some((n) => vpnIpInPrefix(gw, n))) gateways.push({ vpnIp: gw, weight: h.weight });
    else outside.push(gw);
  }
  if (outside.length > 0) out.ignored.push({ reason: 'gateway-outside-vpn', dst, gateways: outside });
  if (gateways.length > 0) {
    const kind = added ? 'add' : family === AF_INET6 ? 'delete-hops' : 'delete';
    out.changes.push({ kind, dst, table, metric, gateways });
  } else {
    if (outside.length === 0) out.ignored.push({ reason: 'no-gateway', dst, gateways: [] });
    stopFollowing();
  }
}

/** RTA_MULTIPATH's rtnexthop list; false when malformed. */
function parseNextHops(view: DataView, start: number, end: number, addrLen: number, hops: NextHop[]): boolean {
  for (let h = start; h + RTNH_LEN <= end;) {
    const hlen = view.getUint16(h, true);
    if (hlen < RTNH_LEN || h + hlen > end) return false;
    const hop: NextHop = { ifindex: view.getInt32(h + 4, true), gateway: null, weight: view.getUint8(h + 3) + 1 };
    for (let a = h + RTNH_LEN; a + 4 <= h + hlen;) {
      const alen = view.getUint16(a, true);
      if (alen < 4 || a + alen > h + hlen) return false;
      const atype = view.getUint16(a + 2, true) & 0x3fff;
      if (atype === RTA_GATEWAY || atype === RTA_VIA)
        hop.gateway = gatewayOf(view, atype, a + 4, alen - 4, addrLen) ?? hop.gateway;
      a += align4(alen);
    }
    hops.push(hop);
    h += align4(hlen);
  }
  return true;
}

/**
 * A gateway from RTA_GATEWAY (an address of the route's family) or RTA_VIA (family u16 + address of that family);
 * null for anything else. An IPv4-mapped IPv6 gateway is the IPv4 address, as Nebula unmaps it.
 */
function gatewayOf(view: DataView, atype: number, v: number, vlen: number, routeAddrLen: number): VpnIp | null {
  if (atype === RTA_GATEWAY) return vlen === routeAddrLen ? addressAt(view, v, vlen) : null;
  if (vlen < 2) return null;
  const viaFamily = view.getUint16(v, true);
  if ((viaFamily === AF_INET && vlen === 6) || (viaFamily === AF_INET6 && vlen === 18))
    return addressAt(view, v + 2, vlen - 2);
  return null;
}

function addressAt(view: DataView, at: number, len: number): VpnIp {
  if (len === 4) return view.getUint32(at, false);
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = view.getUint8(at + i);
  return vpnIp6FromBytes(bytes);
}

/** The network of `bits` in `addr` (4 or 16 bytes), host bits cleared. */
function networkOf(addr: Uint8Array, bits: number): IpPrefix {
  const b = Uint8Array.from(addr);
  for (let i = 0; i < b.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    b[i] &= (0xff00 >> keep) & 0xff;
  }
  return { addr: b.length === 4 ? ipv4Addr(b) : ipv6Addr(b), bits };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
