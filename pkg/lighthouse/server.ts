// The lighthouse role (reference §5.3): remembers, for every host with a tunnel to us, the address we see it
// from (learned) and the addresses it reports; answers queries with both; and tells the queried host to punch
// back toward the querier, so that both NATs open without anyone logging in to either side.

import type { HostInfo } from '../hostmap/hostinfo.js';
import { netContains, parseIpv4, type Ipv4, type Ipv4Net } from '../ip/ipv4.js';
import type { Counters } from '../metrics/counters.js';
import type { UdpAddr } from '../udp/addr.js';
import { MetaType, SEEN_FIRST_V4, SEEN_FIRST_V6, type MetaMessage } from './meta.js';

/** Nebula keeps at most 10 reported addresses per host. */
export const MAX_REPORTED = 10;

interface Entry {
  reported: UdpAddr[];
  relays: Ipv4[];
}

export interface LighthouseServerEnv {
  vpnNet(): Ipv4Net;
  remoteAllowed(vpnIp: Ipv4, addr: UdpAddr): boolean;
  hostFor(vpnIp: Ipv4): HostInfo | undefined;
  send(host: HostInfo, message: MetaMessage): void;
  counters: Counters;
}

export class LighthouseServer {
  private readonly entries = new Map<Ipv4, Entry>();

  constructor(private readonly env: LighthouseServerEnv) {}

  handle(from: HostInfo, m: MetaMessage): void {
    switch (m.type) {
      case MetaType.HostUpdateNotification:
        return this.update(from, m);
      case MetaType.HostQuery:
        return this.query(from, m.vpnIp);
      default:
        this.env.counters.inc('lighthouse', `ignored-${MetaType[m.type] ?? m.type}`);
    }
  }

  private update(from: HostInfo, m: MetaMessage): void {
    if (m.vpnIp !== from.vpnIp) return this.env.counters.inc('drops', 'lighthouse-update-wrong-vpnip');
    const vpnNet = this.env.vpnNet();
    const reported = capPerFamily(m.addrs)
      .filter((a) => a.address.includes(':') || !netContains(vpnNet, parseIpv4(a.address)))
      .filter((a) => this.env.remoteAllowed(from.vpnIp, a));
    this.entries.set(from.vpnIp, { reported, relays: m.relays });
    this.env.counters.inc('lighthouse', 'update');
  }

  private addressesOf(host: HostInfo): UdpAddr[] {
    const entry = this.entries.get(host.vpnIp);
    const learned = host.remote ? [host.remote] : [];
    // v4 first then v6, each learned-then-reported, duplicates kept: what Nebula 1.6.1 sends.
    const all = [...learned, ...(entry?.reported ?? [])];
    return [...all.filter((a) => !a.address.includes(':')), ...all.filter((a) => a.address.includes(':'))];
  }

  /** SEEN_* bits for a reply about `host`: only a direct tunnel shows us its source address (see meta.ts). */
  private seenOf(host: HostInfo): number {
    if (!host.remote) return 0;
    return host.remote.address.includes(':') ? SEEN_FIRST_V6 : SEEN_FIRST_V4;
  }

  private query(from: HostInfo, target: Ipv4): void {
    this.env.counters.inc('lighthouse', 'query');
    const targetHost = this.env.hostFor(target);
    if (!targetHost) return this.env.counters.inc('lighthouse', 'query-unknown');
    this.env.send(from, {
      type: MetaType.HostQueryReply,
      vpnIp: target,
      addrs: this.addressesOf(targetHost),
      relays: this.entries.get(target)?.relays ?? [],
      seen: this.seenOf(targetHost),
    });
    // Asking about ourselves (mesh nodes do, to learn how their NAT maps them) needs no punch.
    if (from.vpnIp === target) return;
    this.env.send(targetHost, {
      type: MetaType.HostPunchNotification,
      vpnIp: from.vpnIp,
      addrs: this.addressesOf(from),
      relays: [],
    });
  }

  forget(vpnIp: Ipv4): void {
    this.entries.delete(vpnIp);
  }

  reportedOf(vpnIp: Ipv4): readonly UdpAddr[] {
    return this.entries.get(vpnIp)?.reported ?? [];
  }
}

/** Nebula keeps up to MAX_REPORTED addresses of each family, taken before any filtering. */
export function capPerFamily(addrs: readonly UdpAddr[]): UdpAddr[] {
  const v4 = addrs.filter((a) => !a.address.includes(':')).slice(0, MAX_REPORTED);
  const v6 = addrs.filter((a) => a.address.includes(':')).slice(0, MAX_REPORTED);
  return [...v4, ...v6];
}
