// `lighthouse.serve_dns`: a lighthouse answers DNS over UDP on `lighthouse.dns.host`:`lighthouse.dns.port` with
// what it knows of the mesh, as Nebula 1.6.1 does, with the AAAA records of Nebula 1.10 (docs/ipv6.md):
//   A    <cert name>    -> the first IPv4 overlay address of each host of that name it has a tunnel to (or itself)
//   AAAA <cert name>    -> the first IPv6 overlay address of each such host (Nebula 1.10: one per family)
//   TXT  <overlay IP>   -> that host's certificate details (by any of its addresses, IPv6 too), and only to clients
//                          inside one of our overlay networks or 127.0.0.1, because certificate details are
//                          not for the underlay to read
// Anything else, an unknown name, or a TXT question from outside gets an empty NOERROR reply (Nebula's replies
// never say NXDOMAIN). A query the DNS library Nebula uses would reject gets its header-only FORMERR or NOTIMP
// reply; fewer than 12 bytes, or a response, get nothing (a reply could be used for amplification).
//
// Two deliberate differences: names match without regard to ASCII case (RFC 4343; Nebula compares exactly), and
// the answers come from the current tunnels plus the lighthouse itself, where Nebula remembers every name it ever
// saw and never itself.

import type { RemoteInfo, Socket } from 'node:dgram';
import type { NebulaCertificate } from '../cert/index.js';
import { formatNet } from '../cert/index.js';
import type { MeshConfig } from '../config/index.js';
import type { LocalIdentity } from '../handshake/identity.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import { netContains, type Ipv4Net } from '../ip/ipv4.js';
import type { IpPrefix } from '../ip/prefix.js';
import { parseVpnIp, type VpnIp } from '../ip/vpn-ip.js';
import { inNetworks } from './overlay-networks.js';
import { guarded } from '../log/escaped-errors.js';
import type { Logger } from '../log/logger.js';
import type { Counters } from '../metrics/counters.js';
import {
  DnsError,
  DnsFlag,
  DnsOpcode,
  DnsRcode,
  DnsType,
  encodeReply,
  parseQuery,
  replySize,
  type DnsAnswer,
  type DnsQuery,
  type DnsReply,
} from './dns-wire.js';

/** Nebula's answers carry its DNS library's default TTL. */
export const DNS_TTL_SECONDS = 3600;

/** A host the responder can name: its overlay IPs, its certificate's name, and the certificate (decoded on demand). */
export interface DnsHost {
  readonly vpnIp: VpnIp;
  /** All its overlay addresses, primary first (absent: just `vpnIp`). */
  readonly vpnAddrs?: readonly VpnIp[];
  readonly certName: string;
  /** Absent for a host another lighthouse of the tier serves (docs/lighthouse-tier.md): A answers only. */
  readonly cert?: NebulaCertificate;
}

/** What the responder may tell: the hosts known now and the overlay network. */
export interface DnsDirectory {
  vpnNet(): Ipv4Net;
  /** All our overlay networks (absent: `vpnNet` alone): who may read certificates. */
  vpnNetworks?(): readonly IpPrefix[];
  /** The lighthouse itself and every host it has a tunnel to. */
  hosts(): Iterable<DnsHost>;
  /**
   * The hosts another lighthouse of the tier serves named `name` (any ASCII case), a few at most: looked up by name,
   * never walked, so a question costs the same whatever the tier holds (docs/lighthouse-tier.md).
   */
  remoteNamed?(name: string): Iterable<DnsHost>;
}

// ---- answering (no sockets) ----

/** The reply to a parsed query from `from` (the client's IP as text). */
export function answerQuery(query: DnsQuery, from: string, dir: DnsDirectory): DnsReply {
  const isQuery = query.opcode === DnsOpcode.Query;
  const reply: DnsReply = {
    id: query.id,
    opcode: query.opcode,
    rd: isQuery && query.rd,
    cd: isQuery && query.cd,
    rcode: DnsRcode.NoError,
    question: query.question,
    answers: [],
  };
  if (!isQuery) return reply;
  const q = query.question;
  if (q.type === DnsType.A) {
    reply.answers = addressesNamed(q.name, dir, 4).map((address): DnsAnswer => ({
      type: DnsType.A,
      ttl: DNS_TTL_SECONDS,
      address: address as number,
    }));
  } else if (q.type === DnsType.AAAA) {
    reply.answers = addressesNamed(q.name, dir, 6).map((address): DnsAnswer => ({
      type: DnsType.AAAA,
      ttl: DNS_TTL_SECONDS,
      address: address as string,
    }));
  } else if (q.type === DnsType.TXT && mayReadCerts(from, dir)) {
    const cert = certOf(q.name, dir);
    if (cert) reply.answers = [{ type: DnsType.TXT, ttl: DNS_TTL_SECONDS, strings: certTxt(cert) }];
  }
  return reply;
}

function addrsOfHost(h: DnsHost): readonly VpnIp[] {
  return h.vpnAddrs && h.vpnAddrs.length > 0 ? h.vpnAddrs : [h.vpnIp];
}

/** For each host named `name`, its first address of `family` (one per family, as Nebula 1.10's DNS server keeps them). */
function addressesNamed(name: string, dir: DnsDirectory, family: 4 | 6): VpnIp[] {
  const wanted = asciiLower(name);
  const found = new Set<VpnIp>();
  const add = (h: DnsHost): void => {
    const first = addrsOfHost(h).find((a) => (family === 4 ? typeof a === 'number' : typeof a === 'string'));
    if (first !== undefined) found.add(first);
  };
  let local = false;
  for (const h of dir.hosts()) {
    if (asciiLower(h.certName) !== wanted) continue;
    local = true;
    add(h);
  }
  // A name from the tier is not CA-signed: it never adds to a name the lighthouse or one of its tunnels carries,
  // whose certificate we checked ourselves (docs/lighthouse-tier.md).
  if (!local) for (const h of dir.remoteNamed?.(name) ?? []) add(h);
  return [...found];
}

function certOf(name: string, dir: DnsDirectory): NebulaCertificate | null {
  let ip: VpnIp;
  try {
    ip = parseVpnIp(name);
  } catch {
    return null;
  }
  for (const h of dir.hosts()) if (h.cert && addrsOfHost(h).includes(ip)) return h.cert;
  return null;
}

function mayReadCerts(from: string, dir: DnsDirectory): boolean {
  let ip: VpnIp;
  try {
    ip = parseVpnIp(from.replace(/%.*$/, ''));
  } catch {
    return false;
  }
  // 127.0.0.1 only, as Nebula 1.6.1 (1.10 takes any loopback address, ::1 too; docs/ipv6.md).
  if (ip === 0x7f000001) return true;
  const networks = dir.vpnNetworks?.();
  if (networks && networks.length > 0) return inNetworks(ip, networks);
  return typeof ip === 'number' && netContains(dir.vpnNet(), ip);
}

function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** The certificate as Nebula's TXT answer words it, spellings included, so tools that read one read the other. */
export function certTxt(cert: NebulaCertificate): string[] {
  const d = cert.details;
  const list = (items: string[]): string => `[${items.join(' ')}]`;
  return [
    `Name: ${d.name}`,
    `Ips: ${list(d.ips.map(formatNet))}`,
    `Subnets ${list(d.subnets.map(formatNet))}`,
    `Groups ${list(d.groups)}`,
    `NotBefore ${goTime(d.notBefore)}`,
    `NotAFter ${goTime(d.notAfter)}`,
    `PublicKey ${Buffer.from(d.publicKey).toString('hex')}`,
    `IsCA ${d.isCA}`,
    `Issuer ${d.issuer}`,
  ];
}

/** Go's time.Time String() in UTC: "2026-11-23 17:29:53 +0000 UTC". */
function goTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) return `@${seconds}`;
  const iso = d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}

export type DnsOutcome = 'answered' | 'empty' | 'formerr' | 'notimp' | 'dropped';

/** One datagram in, at most one out. Never throws: bad input becomes an error reply or nothing. */
export function respond(
  packet: Uint8Array,
  from: string,
  dir: DnsDirectory,
): { reply: Uint8Array | null; outcome: DnsOutcome } {
  let query: DnsQuery;
  try {
    query = parseQuery(packet);
  } catch (e) {
    if (!(e instanceof DnsError) || !e.header || e.code === 'EDNSRESPONSE') return { reply: null, outcome: 'dropped' };
    const h = e.header;
    const notImp = e.code === 'EDNSOPCODE';
    const opcode = notImp ? (h.flags >> 11) & 0xf : DnsOpcode.Query;
    const rcode = notImp ? DnsRcode.NotImp : DnsRcode.FormErr;
    const reply = {
      id: h.id,
      opcode,
      rd: (h.flags & DnsFlag.RD) !== 0,
      cd: (h.flags & DnsFlag.CD) !== 0,
      rcode,
      question: null,
      answers: [],
    };
    return { reply: encoded(reply), outcome: notImp ? 'notimp' : 'formerr' };
  }
  const reply = answerQuery(query, from, dir);
  return { reply: encoded(reply), outcome: reply.answers.length > 0 ? 'answered' : 'empty' };
}

function encoded(reply: DnsReply): Uint8Array {
  const out = new Uint8Array(replySize(reply));
  encodeReply(reply, out);
  return out;
}

// ---- the UDP socket ----

export interface DnsListen {
  /** '' listens on every address, IPv4 and IPv6 where the host has it. */
  host: string;
  port: number;
}

/** A bound UDP socket answering every datagram through `respond`. */
export class DnsResponder {
  private constructor(private readonly socket: Socket) {}

  static async start(
    listen: DnsListen,
    dir: DnsDirectory,
    onOutcome: (o: DnsOutcome) => void = () => {},
  ): Promise<DnsResponder> {
    const host = listen.host.replace(/^\[(.*)\]$/, '$1');
    let socket: Socket;
    if (host !== '') socket = await bind(host.includes(':') ? 'udp6' : 'udp4', host, listen.port);
    else {
      try {
        socket = await bind('udp6', '::', listen.port);
      } catch {
        socket = await bind('udp4', '0.0.0.0', listen.port);
      }
    }
    // Guarded: a query that makes the responder throw is dropped, it must not end the process.
    socket.on(
      'message',
      guarded('dns', (packet: Buffer, rinfo: RemoteInfo) => {
        const { reply, outcome } = respond(packet, rinfo.address, dir);
        onOutcome(outcome);
        try {
          if (reply) socket.send(reply, rinfo.port, rinfo.address);
        } catch {
          // Closed while the datagram was in flight: nothing to answer with.
        }
      }),
    );
    // A send to a vanished client must not take the daemon down.
    socket.on('error', () => {});
    return new DnsResponder(socket);
  }

  address(): { address: string; port: number } {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

async function bind(type: 'udp4' | 'udp6', host: string, port: number): Promise<Socket> {
  // Loaded on first use, as in pkg/udp/udp-conn.ts: most daemons serve no DNS.
  const { createSocket } = await import('node:dgram');
  const socket = createSocket({ type, ipv6Only: false });
  return new Promise((resolve, reject) => {
    socket.once('error', (e) => {
      socket.close();
      reject(e);
    });
    socket.bind(port, host, () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

// ---- lifecycle on a node: start with the daemon, follow reloads, close on stop ----

/** What the DNS responder needs of a running node (MeshNode has it). */
export interface DnsNode {
  /** Each tunnel once, under its primary address. */
  readonly hostmap: {
    readonly byPrimary: ReadonlyMap<VpnIp, HostInfo>;
    readonly byVpnIp: ReadonlyMap<VpnIp, HostInfo>;
  };
  readonly log: Logger;
  readonly counters: Counters;
  identity(): LocalIdentity;
  currentConfig(): MeshConfig;
  /** lighthouse.store: the hosts the other lighthouses of a tier serve (lighthouse/store/). */
  readonly lighthouseStore?: {
    remoteHostsNamed(name: string): Iterable<{ readonly vpnIp: number | string; readonly name?: string }>;
  } | null;
}

export function nodeDirectory(node: DnsNode): DnsDirectory {
  return {
    vpnNet: () => node.identity().vpnNet,
    vpnNetworks: () => node.identity().vpnNetworks,
    *hosts() {
      const self = node.identity();
      yield { vpnIp: self.vpnIp, vpnAddrs: self.vpnAddrs, certName: self.cert.details.name, cert: self.cert };
      yield* node.hostmap.byPrimary.values();
    },
    *remoteNamed(name) {
      // Only addresses inside our overlay networks: a tier record may name any IP, a certificate may not.
      const networks = node.identity().vpnNetworks;
      for (const h of node.lighthouseStore?.remoteHostsNamed(name) ?? []) {
        if (h.name === undefined || node.hostmap.byVpnIp.has(h.vpnIp) || !inNetworks(h.vpnIp, networks)) continue;
        yield { vpnIp: h.vpnIp, certName: h.name };
      }
    },
  };
}

function listenText(l: DnsListen): string {
  return `${l.host}:${l.port}`;
}

/**
 * The responder as the daemon runs it. Whether it runs is decided at start (serve_dns on a lighthouse), as in
 * Nebula; a reload that moves `lighthouse.dns.host`/`port` restarts it at the new address. A bind failure is
 * logged and the node runs on without DNS, as Nebula's does.
 */
export class LighthouseDns {
  private responder: DnsResponder | null = null;
  private listen: string;

  private constructor(
    private readonly node: DnsNode,
    readonly enabled: boolean,
    listen: DnsListen,
  ) {
    this.listen = listenText(listen);
  }

  static async start(node: DnsNode): Promise<LighthouseDns> {
    const l = node.currentConfig().lighthouse;
    if (l.serveDns && !l.amLighthouse)
      node.log.warn('DNS server refusing to run because this host is not a lighthouse.');
    const dns = new LighthouseDns(node, l.serveDns && l.amLighthouse, l.dns);
    if (dns.enabled) await dns.open(l.dns);
    return dns;
  }

  /** The bound address, or null when not serving. */
  address(): { address: string; port: number } | null {
    return this.responder?.address() ?? null;
  }

  /** Follows a reload; returns the settings that wait for a restart. */
  async reload(config: MeshConfig): Promise<string[]> {
    const l = config.lighthouse;
    if ((l.serveDns && l.amLighthouse) !== this.enabled) return ['lighthouse.serve_dns (needs a restart to apply)'];
    if (!this.enabled || listenText(l.dns) === this.listen) return [];
    this.node.log.info('Restarting DNS server', { dnsListener: listenText(l.dns) });
    await this.close();
    await this.open(l.dns);
    return [];
  }

  private async open(listen: DnsListen): Promise<void> {
    this.listen = listenText(listen);
    try {
      const counters = this.node.counters;
      this.responder = await DnsResponder.start(listen, nodeDirectory(this.node), (o) =>
        counters.inc('dns-queries', o),
      );
      this.node.log.info('Starting DNS responder', { dnsListener: this.listen });
    } catch (e) {
      this.node.log.error('Failed to start DNS server', { dnsListener: this.listen, error: (e as Error).message });
    }
  }

  async close(): Promise<void> {
    const r = this.responder;
    this.responder = null;
    await r?.close();
  }
}
