// Builds rtnetlink route messages (RTM_NEWROUTE / RTM_DELROUTE) laid out as the kernel sends them, for the tests
// of pkg/routing/netlink-route.ts. Written from the rtnetlink(7) layout, independently of the parser. The family
// follows the destination's text (IPv4 or IPv6); a gateway of the other family goes as RTA_VIA, as the kernel
// sends `ip route add 10.9.0.0/24 via inet6 fd00::2`.

export interface NextHopSpec {
  ifindex: number;
  gateway?: string;
  /** As `ip route ... weight N`: the kernel stores N - 1 in rtnh_hops. */
  weight?: number;
  /** RTA_VIA (family + address) instead of RTA_GATEWAY; a gateway of the other family always goes as RTA_VIA. */
  asVia?: boolean;
}

export interface RouteMsgSpec {
  type: 'new' | 'del';
  dst: string; // "10.9.0.0/24" or "fd01::/64"
  family?: number; // default AF_INET (2) or AF_INET6 (10), by the destination
  table?: number; // default 254 (main), in rtm_table and RTA_TABLE
  metric?: number;
  oif?: number;
  gateway?: string;
  nexthops?: NextHopSpec[];
  /** A dump reply: the request's sequence number, NLM_F_MULTI (and NLM_F_DUMP_INTR when `interrupted`). */
  dumpSeq?: number;
  interrupted?: boolean;
}

function ip4(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

/** IPv6 text (no embedded IPv4) as 16 bytes. */
function ip6(text: string): Buffer {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const groups = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, 2 * i));
  return out;
}

function ipBytes(text: string): Buffer {
  return text.includes(':') ? ip6(text) : ip4(text);
}

function attr(type: number, value: Buffer): Buffer {
  const len = 4 + value.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  value.copy(out, 4);
  return out;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
}

function gatewayAttr(gateway: string, asVia: boolean | undefined, routeV6: boolean): Buffer {
  const v6 = gateway.includes(':');
  if (!asVia && v6 === routeV6) return attr(5, ipBytes(gateway));
  const addr = ipBytes(gateway);
  const via = Buffer.alloc(2 + addr.length);
  via.writeUInt16LE(v6 ? 10 : 2, 0);
  addr.copy(via, 2);
  return attr(18, via);
}

export function routeMsg(spec: RouteMsgSpec): Buffer {
  const [net, len] = spec.dst.split('/');
  const table = spec.table ?? 254;
  const v6 = net!.includes(':');
  const rtm = Buffer.alloc(12);
  rtm.writeUInt8(spec.family ?? (v6 ? 10 : 2), 0);
  rtm.writeUInt8(Number(len), 1);
  rtm.writeUInt8(table < 256 ? table : 252, 4); // RT_TABLE_COMPAT for ids above 255, as the kernel does
  rtm.writeUInt8(3, 5); // RTPROT_BOOT
  rtm.writeUInt8(0, 6); // RT_SCOPE_UNIVERSE
  rtm.writeUInt8(1, 7); // RTN_UNICAST
  const attrs: Buffer[] = [attr(15, u32(table))];
  if (Number(len) > 0) attrs.push(attr(1, ipBytes(net!)));
  if (spec.metric !== undefined) attrs.push(attr(6, u32(spec.metric)));
  if (spec.gateway !== undefined) attrs.push(gatewayAttr(spec.gateway, false, v6));
  if (spec.oif !== undefined) attrs.push(attr(4, u32(spec.oif)));
  if (spec.nexthops !== undefined) {
    const hops = spec.nexthops.map((h) => {
      const inner = h.gateway === undefined ? Buffer.alloc(0) : gatewayAttr(h.gateway, h.asVia, v6);
      const head = Buffer.alloc(8);
      head.writeUInt16LE(8 + inner.length, 0);
      head.writeUInt8((h.weight ?? 1) - 1, 3);
      head.writeInt32LE(h.ifindex, 4);
      return Buffer.concat([head, inner]);
    });
    attrs.push(attr(9, Buffer.concat(hops)));
  }
  const body = Buffer.concat([rtm, ...attrs]);
  const hdr = Buffer.alloc(16);
  hdr.writeUInt32LE(16 + body.length, 0);
  hdr.writeUInt16LE(spec.type === 'new' ? 24 : 25, 4);
  if (spec.dumpSeq !== undefined) {
    hdr.writeUInt16LE(0x2 | (spec.interrupted ? 0x10 : 0), 6); // NLM_F_MULTI (| NLM_F_DUMP_INTR)
    hdr.writeUInt32LE(spec.dumpSeq, 8);
  } else {
    hdr.writeUInt16LE(spec.type === 'new' ? 0x600 : 0, 6); // NLM_F_CREATE | NLM_F_EXCL on a new route
  }
  return Buffer.concat([hdr, body]);
}

/** The end of a dump: NLMSG_DONE (with its 4-byte status 0), or NLMSG_ERROR with an errno. */
export function dumpEnd(seq: number, errno = 0): Buffer {
  const out = Buffer.alloc(errno === 0 ? 20 : 36);
  out.writeUInt32LE(out.length, 0);
  out.writeUInt16LE(errno === 0 ? 3 : 2, 4);
  out.writeUInt16LE(errno === 0 ? 0x2 : 0, 6);
  out.writeUInt32LE(seq, 8);
  out.writeInt32LE(-errno, 16);
  return out;
}
