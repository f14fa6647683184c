// The lighthouse server's side of a tier (docs/lighthouse-tier.md): a query about a host another lighthouse serves
// is answered from the store's view of it, and its punch notification goes to that lighthouse as a PunchRequest;
// a PunchRequest from another lighthouse becomes a HostPunchNotification to the host we serve. What comes from the
// tier passes the same filters as a host's own report (the overlay network left out, remote_allow_list), so a
// lighthouse accepts from NATS only what it would accept from a tunnel.

import type { HostInfo } from '../../hostmap/hostinfo.js';
import { netContains, parseIpv4, type Ipv4 } from '../../ip/ipv4.js';
import type { IpAddr } from '../../ip/prefix.js';
import { ipAddrOfVpnIp, vpnIpFromIpAddr } from '../../ip/vpn-ip.js';
import { isTcpAddr } from '../../tcp/tcp-addr.js';
import type { UdpAddr } from '../../udp/addr.js';
import { layout, MetaType, SEEN_FIRST_V4, SEEN_FIRST_V6, type MetaVersion } from '../meta.js';
import type { LighthouseServerEnv } from '../server.js';
import type { LighthouseStore, PunchRequest, ServedHost } from './store.js';

/** A served host as the store writes it: its tunnel's address and its last update's addresses and relays. */
export function servedHost(host: HostInfo, entry: { reported: readonly UdpAddr[]; relays: readonly Ipv4[]; relays6: readonly IpAddr[] }): ServedHost {
  return {
    vpnIp: host.vpnIp,
    learned: host.remote && !isTcpAddr(host.remote) ? host.remote : null,
    reported: entry.reported,
    relays: [...entry.relays, ...entry.relays6.map(vpnIpFromIpAddr)],
    ...(host.certName !== undefined ? { name: host.certName } : {}),
  };
}

/** Answers `from`'s query about `target`, a host we have no tunnel to, from the tier; counts it unknown if none. */
export function answerFromTier(
  env: LighthouseServerEnv,
  store: LighthouseStore,
  from: HostInfo,
  target: Ipv4,
  version: MetaVersion,
  askerAddrs: () => UdpAddr[],
): void {
  const remote = store.lookup(target);
  if (!remote) return env.counters.inc('lighthouse', 'query-unknown');
  const learned = remote.learned && acceptable(env, target, remote.learned) ? remote.learned : null;
  const reported = remote.reported.filter((a) => acceptable(env, target, a));
  // As the server orders its own answers: IPv4 then IPv6, each learned-then-reported.
  const all = learned ? [learned, ...reported] : reported;
  const addrs = [...all.filter((a) => !a.address.includes(':')), ...all.filter((a) => a.address.includes(':'))];
  const seen = learned ? (learned.address.includes(':') ? SEEN_FIRST_V6 : SEEN_FIRST_V4) : 0;
  const relays = remote.relays.filter((r): r is number => typeof r === 'number');
  const relays6 = version === 2 ? remote.relays.filter((r) => typeof r === 'string').map(ipAddrOfVpnIp) : [];
  env.send(from, { type: MetaType.HostQueryReply, vpnIp: target, addrs, relays, ...(relays6.length > 0 ? { relays6 } : {}), seen, ...layout(version) });
  env.counters.inc('lighthouse', 'query-tier');
  // Asking about ourselves needs no punch; asking about a host another lighthouse serves: that one tells it.
  if (from.vpnIp !== target) store.requestPunch(remote.servedBy, { target, asker: from.vpnIp, askerAddrs: askerAddrs() });
}

/** Another lighthouse's query reached a host we serve: it punches toward the asker, as for a query of our own. */
export function tierPunch(env: LighthouseServerEnv, request: PunchRequest): void {
  const { target, asker } = request;
  if (typeof target !== 'number' || typeof asker !== 'number') return env.counters.inc('drops', 'lighthouse-tier-punch-family');
  const host = env.hostFor(target);
  if (!host) return env.counters.inc('drops', 'lighthouse-tier-punch-unknown');
  const addrs = request.askerAddrs.filter((a) => acceptable(env, asker, a));
  env.send(host, { type: MetaType.HostPunchNotification, vpnIp: asker, addrs, relays: [], ...layout(host.certVersion ?? 1) });
  env.counters.inc('lighthouse', 'tier-punch');
}

/** What the server keeps of a host's own report: no address inside the overlay network, remote_allow_list passed. */
function acceptable(env: LighthouseServerEnv, vpnIp: Ipv4, a: UdpAddr): boolean {
  if (!a.address.includes(':') && netContains(env.vpnNet(), parseIpv4(a.address))) return false;
  return env.remoteAllowed(vpnIp, a);
}
