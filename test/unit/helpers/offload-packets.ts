// TCP/UDP packets of both IP families and virtio-net headers for the TUN offload tests, built and checked with
// an Internet checksum of the tests' own (not the addon's), so a wrong checksum in C cannot pass by agreement.

export const GSO_NONE = 0;
export const GSO_TCPV4 = 1;
export const GSO_TCPV6 = 4;
export const GSO_UDP_L4 = 5;
export const NEEDS_CSUM = 1;
export const ACK = 0x10;
export const PSH = 0x08;
export const FIN = 0x01;
export const SYN = 0x02;
export const CWR = 0x80;

/** RFC 1071 over buf[start, end), plus `initial` (an unfolded sum); returns the complemented 16-bit checksum. */
export function checksum(buf: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  for (let i = start; i < end; i += 2) sum += (buf[i] << 8) | (i + 1 < end ? buf[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ipv6Pseudo(pkt: Uint8Array, l4Len: number, proto: number): number {
  let sum = 0;
  for (let i = 8; i < 40; i += 2) sum += (pkt[i] << 8) | pkt[i + 1];
  return sum + (l4Len >>> 16) + (l4Len & 0xffff) + proto;
}

function ipv4Pseudo(pkt: Uint8Array, l4Len: number, proto: number): number {
  let sum = 0;
  for (let i = 12; i < 20; i += 2) sum += (pkt[i] << 8) | pkt[i + 1];
  return sum + l4Len + proto;
}

export interface TcpSpec {
  family: 4 | 6;
  seq: number;
  flags?: number;
  payload: Uint8Array;
  /** TCP options (a multiple of 4 bytes): a timestamp option by default, as Linux sends. */
  options?: Uint8Array;
  sport?: number;
  dport?: number;
  ack?: number;
  window?: number;
  /** IPv6 flow label / IPv4 TOS stand-in; hop limit / TTL. */
  flowLabel?: number;
  hopLimit?: number;
  /** IPv6 only: an 8-byte hop-by-hop options header between IPv6 and TCP. */
  hopByHop?: boolean;
  /** Last byte of the source address (fd00::1 / 10.0.0.1 by default). */
  srcLast?: number;
}

export const TIMESTAMP_OPTION = Uint8Array.of(1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9);

/** The IP fields a test packet may set; the rest are fixed (fd00::1 / 10.0.0.1 to fd00::2 / 10.0.0.2). */
interface IpSpec {
  family: 4 | 6;
  /** IPv6 flow label / IPv4 TOS; hop limit / TTL. */
  flowLabel?: number;
  hopLimit?: number;
  /** Last byte of the source address. */
  srcLast?: number;
  /** IPv4 id (0x1234 by default) and flags/fragment offset word (DF by default). */
  id?: number;
  fragment?: number;
}

/** p's IP header for a `proto` packet filling all of p, behind it `ext` bytes of an IPv6 hop-by-hop header. */
function writeIpHeader(p: Uint8Array, spec: IpSpec, proto: number, ext: number): void {
  if (spec.family === 6) {
    const fl = spec.flowLabel ?? 0x12345;
    p.set([0x60, (fl >> 16) & 0x0f, (fl >> 8) & 0xff, fl & 0xff]);
    const plen = p.length - 40;
    p.set([plen >> 8, plen & 0xff, ext ? 0 : proto, spec.hopLimit ?? 64], 4);
    p.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, spec.srcLast ?? 1], 8);
    p.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 24);
    if (ext) p.set([proto, 0, 1, 4, 0, 0, 0, 0], 40); // next header `proto`, length 0 (8 bytes), a PadN option
    return;
  }
  const total = p.length;
  const id = spec.id ?? 0x1234;
  const frag = spec.fragment ?? 0x4000;
  p.set([0x45, spec.flowLabel ?? 0, total >> 8, total & 0xff, (id >> 8) & 0xff, id & 0xff, frag >> 8, frag & 0xff]);
  p.set([spec.hopLimit ?? 64, proto, 0, 0], 8);
  p.set([10, 0, 0, spec.srcLast ?? 1, 10, 0, 0, 2], 12);
  const s = checksum(p, 0, 20);
  p[10] = s >> 8;
  p[11] = s & 0xff;
}

/** A TCP packet of either family with correct checksums. */
export function tcpPacket(spec: TcpSpec): Uint8Array {
  const options = spec.options ?? TIMESTAMP_OPTION;
  const ext = spec.family === 6 && spec.hopByHop ? 8 : 0;
  const iphl = spec.family === 6 ? 40 : 20;
  const tcpLen = 20 + options.length + spec.payload.length;
  const p = new Uint8Array(iphl + ext + tcpLen);
  const t = iphl + ext;
  writeIpHeader(p, spec, 6, ext);
  const sport = spec.sport ?? 40000;
  const dport = spec.dport ?? 5201;
  const ack = spec.ack ?? 0x01020304;
  const window = spec.window ?? 512;
  p.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff], t);
  writeU32(p, t + 4, spec.seq);
  writeU32(p, t + 8, ack);
  p[t + 12] = ((20 + options.length) / 4) << 4;
  p[t + 13] = spec.flags ?? ACK;
  p.set([window >> 8, window & 0xff], t + 14);
  p.set(options, t + 20);
  p.set(spec.payload, t + 20 + options.length);
  const c = checksum(p, t, p.length, (spec.family === 6 ? ipv6Pseudo : ipv4Pseudo)(p, tcpLen, 6));
  p[t + 16] = c >> 8;
  p[t + 17] = c & 0xff;
  return p;
}

export interface UdpSpec {
  family: 4 | 6;
  payload: Uint8Array;
  sport?: number;
  dport?: number;
  /** IPv4 id (0x1234 by default). */
  id?: number;
  /** IPv6 flow label / IPv4 TOS; hop limit / TTL. */
  flowLabel?: number;
  hopLimit?: number;
  /** IPv4 flags and fragment offset word (DF, 0x4000, by default); 0x2000 is MF. */
  fragment?: number;
  /** IPv6 only: an 8-byte hop-by-hop options header between IPv6 and UDP. */
  hopByHop?: boolean;
  /** Send no checksum (zero, IPv4's "none"). */
  noChecksum?: boolean;
  /** Last byte of the source address (fd00::1 / 10.0.0.1 by default). */
  srcLast?: number;
}

/** A UDP datagram of either family with correct checksums (unless asked for none). */
export function udpPacket(spec: UdpSpec): Uint8Array {
  const ext = spec.family === 6 && spec.hopByHop ? 8 : 0;
  const iphl = spec.family === 6 ? 40 : 20;
  const udpLen = 8 + spec.payload.length;
  const p = new Uint8Array(iphl + ext + udpLen);
  const u = iphl + ext;
  writeIpHeader(p, spec, 17, ext);
  const sport = spec.sport ?? 40000;
  const dport = spec.dport ?? 5201;
  p.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, udpLen >> 8, udpLen & 0xff], u);
  p.set(spec.payload, u + 8);
  if (!spec.noChecksum) {
    const c = checksum(p, u, p.length, (spec.family === 6 ? ipv6Pseudo : ipv4Pseudo)(p, udpLen, 17)) || 0xffff;
    p[u + 6] = c >> 8;
    p[u + 7] = c & 0xff;
  }
  return p;
}

/** An IPv6 UDP packet whose checksum field holds only the pseudo-header sum (what NEEDS_CSUM hands over). */
export function udp6PartialPacket(payload: Uint8Array): Uint8Array {
  const len = 8 + payload.length;
  const p = new Uint8Array(40 + len);
  p.set([0x60, 0, 0, 0, len >> 8, len & 0xff, 17, 64]);
  p.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 8);
  p.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 24);
  p.set([0x9c, 0x40, 0x00, 0x35, len >> 8, len & 0xff], 40);
  p.set(payload, 48);
  const partial = ~checksum(new Uint8Array(0), 0, 0, ipv6Pseudo(p, len, 17)) & 0xffff;
  p[46] = partial >> 8;
  p[47] = partial & 0xff;
  return p;
}

/** True when the TCP or UDP checksum of an IPv4 or IPv6 packet (no extension headers) verifies. */
export function l4ChecksumOk(p: Uint8Array): boolean {
  const v6 = p[0] >> 4 === 6;
  const iphl = v6 ? 40 : (p[0] & 0x0f) * 4;
  const proto = v6 ? p[6] : p[9];
  const pseudo = v6 ? ipv6Pseudo(p, p.length - iphl, proto) : ipv4Pseudo(p, p.length - iphl, proto);
  return checksum(p, iphl, p.length, pseudo) === 0;
}

export function ipv4HeaderChecksumOk(p: Uint8Array): boolean {
  return checksum(p, 0, (p[0] & 0x0f) * 4) === 0;
}

export interface VnetHeader {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

/** 10 bytes, little-endian (a legacy TUN's host order on the machines we run on). */
export function vnetHeader(h: Partial<VnetHeader>): Uint8Array {
  const b = new Uint8Array(10);
  const v = new DataView(b.buffer);
  v.setUint8(0, h.flags ?? 0);
  v.setUint8(1, h.gsoType ?? GSO_NONE);
  v.setUint16(2, h.hdrLen ?? 0, true);
  v.setUint16(4, h.gsoSize ?? 0, true);
  v.setUint16(6, h.csumStart ?? 0, true);
  v.setUint16(8, h.csumOffset ?? 0, true);
  return b;
}

export function readVnetHeader(b: Uint8Array): VnetHeader {
  const v = new DataView(b.buffer, b.byteOffset, 10);
  return {
    flags: v.getUint8(0),
    gsoType: v.getUint8(1),
    hdrLen: v.getUint16(2, true),
    gsoSize: v.getUint16(4, true),
    csumStart: v.getUint16(6, true),
    csumOffset: v.getUint16(8, true),
  };
}

export function readU32(b: Uint8Array, off: number): number {
  return ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
}

export function writeU32(b: Uint8Array, off: number, v: number): void {
  b.set([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff], off);
}

/** Payload bytes i -> (seed + i * 7) & 0xff, so misplaced bytes show. */
export function patterned(length: number, seed = 0): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = (seed + i * 7) & 0xff;
  return b;
}

function setU16(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >> 8) & 0xff;
  b[off + 1] = v & 0xff;
}

/**
 * What the kernel's segmentation (tcp_gso_segment, __udp_gso_segment) gives back for a GSO super-packet, written from
 * its rules and not with the addon's cutter, so a join is checked against an oracle that shares none of its
 * assumptions. Each segment: the packet's IP and transport headers (their lengths read from the packet, not from
 * `hdr`) and the next `hdr.gsoSize` payload bytes; IPv4 id the first one's + i, total length and header checksum
 * computed again; IPv6 payload length; UDP length; TCP sequence number + i * gsoSize, FIN and PSH kept only on the
 * last, CWR only on the first; the transport checksum from scratch over the pseudo-header (UDP: 0 goes as 0xffff).
 */
export function kernelSegments(hdr: VnetHeader, packet: Uint8Array): Uint8Array[] {
  const v6 = packet[0] >> 4 === 6;
  const iphl = v6 ? 40 : (packet[0] & 0x0f) * 4;
  const proto = v6 ? packet[6] : packet[9];
  const hlen = iphl + (proto === 17 ? 8 : (packet[iphl + 12] >> 4) * 4);
  const payload = packet.subarray(hlen);
  const segments: Uint8Array[] = [];
  for (let i = 0, at = 0; at < payload.length; i++, at += hdr.gsoSize) {
    const slice = payload.subarray(at, Math.min(at + hdr.gsoSize, payload.length));
    const last = at + hdr.gsoSize >= payload.length;
    const s = new Uint8Array(hlen + slice.length);
    s.set(packet.subarray(0, hlen));
    s.set(slice, hlen);
    if (v6) {
      setU16(s, 4, s.length - 40);
    } else {
      setU16(s, 2, s.length);
      setU16(s, 4, (((packet[4] << 8) | packet[5]) + i) & 0xffff);
      setU16(s, 10, 0);
      setU16(s, 10, checksum(s, 0, iphl));
    }
    const l4Len = s.length - iphl;
    const pseudo = (v6 ? ipv6Pseudo : ipv4Pseudo)(s, l4Len, proto);
    if (proto === 17) {
      setU16(s, iphl + 4, l4Len);
      setU16(s, iphl + 6, 0);
      setU16(s, iphl + 6, checksum(s, iphl, s.length, pseudo) || 0xffff);
    } else {
      writeU32(s, iphl + 4, (readU32(packet, iphl + 4) + i * hdr.gsoSize) >>> 0);
      if (!last) s[iphl + 13] &= ~(FIN | PSH);
      if (i > 0) s[iphl + 13] &= ~CWR;
      setU16(s, iphl + 16, 0);
      setU16(s, iphl + 16, checksum(s, iphl, s.length, pseudo));
    }
    segments.push(s);
  }
  return segments;
}
