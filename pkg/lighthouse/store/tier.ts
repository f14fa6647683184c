// The lighthouse server's side of a tier (docs/lighthouse-tier.md): a query about a host another lighthouse serves
// is answered from the store's view of it, and its punch notification goes to that lighthouse as a PunchRequest;
// a PunchRequest from another lighthouse becomes a HostPunchNotification to the host we serve. What comes from the
// tier passes the same filters as a host's own report (the overlay network left out, remote_allow_list), so a
// lighthouse accepts from NATS only what it would accept from a tunnel.

import type { HostInfo } from '../../hostmap/hostinfo.js';
import type { VpnIp } from '../../ip/vpn-ip.js';
import { isTcpAddr } from '../../tcp/tcp-addr.js';
import type { UdpAddr } from '../../udp/addr.js';
import { fitsLayout, layout, MetaType, SEEN_FIRST_V4, SEEN_FIRST_V6, type MetaVersion } from '../meta.js';
import { addrsOf, inNetworks, underlayInNetworks } from '../overlay-networks.js';
import { MAX_REPORTED, type LighthouseServerEnv } from '../server.js';
import type { TierPunchLimiter } from './punch-limit.js';
import type { LighthouseStore, PunchRequest, ServedHost } from './store.js';

/**
 * A served host as the store writes it, once under each of its overlay addresses (a dual-stack host is asked for by
 * either): all of those addresses, its tunnel's address and its last update's addresses and relays.
 */
export function servedHosts(
  host: HostInfo,
  entry: { reported: readonly UdpAddr[]; relays: readonly VpnIp[] },
): ServedHost[] {
  const vpnAddrs = addrsOf(host);
  const base = {
    vpnAddrs,
    learned: host.remote && !isTcpAddr(host.remote) ? host.remote : null,
    reported: entry.reported,
    relays: entry.relays,
    ...(host.certName !== undefined ? { name: host.certName } : {}),
  };
  return vpnAddrs.map((vpnIp) => ({ vpnIp, ...base }));
}

/** Answers `from`'s query about `target`, a host we have no tunnel to, from the tier; counts it unknown if none. */
export function answerFromTier(
  env: LighthouseServerEnv,
  store: LighthouseStore,
  from: HostInfo,
  target: VpnIp,
  version: MetaVersion,
  askerAddrs: () => UdpAddr[],
): void {
  const remote = store.lookup(target);
  // A record for an address outside our overlay networks names no host of ours, whatever NATS says.
  if (!remote || !inNetworks(target, env.vpnNetworks())) return env.counters.inc('lighthouse', 'query-unknown');
  // Judged by every address of the host, as the server judges the host's own report (Nebula's AllowAll).
  const judgedBy = remote.vpnAddrs ?? [target];
  const learned = remote.learned && acceptable(env, judgedBy, remote.learned) ? remote.learned : null;
  const reported = remote.reported.filter((a) => acceptable(env, judgedBy, a));
  // As the server orders its own answers: IPv4 then IPv6, each learned-then-reported.
  const all = learned ? [learned, ...reported] : reported;
  const addrs = [...all.filter((a) => !a.address.includes(':')), ...all.filter((a) => a.address.includes(':'))];
  const seen = learned ? (learned.address.includes(':') ? SEEN_FIRST_V6 : SEEN_FIRST_V4) : 0;
  // encodeMeta leaves IPv6 relays out of a v1 message, as for the server's own answers.
  env.send(from, {
    type: MetaType.HostQueryReply,
    vpnIp: target,
    addrs,
    relays: [...remote.relays],
    seen,
    ...layout(version),
  });
  env.counters.inc('lighthouse', 'query-tier');
  // Asking about ourselves needs no punch; asking about a host another lighthouse serves: that one tells it.
  if (!addrsOf(from).includes(target))
    store.requestPunch(remote.servedBy, { target, asker: from.vpnIp, askers: addrsOf(from), askerAddrs: askerAddrs() });
}

/**
 * Another lighthouse's query reached a host we serve: it punches toward the asker, as for a query of our own, at most
 * once a second per (target, asker named) and TIER_PUNCHES_PER_SECOND in all (punch-limit.ts). The asker must not be
 * the target (none of its addresses the target's) and is named by the first of its addresses inside our networks that
 * fits the target's tunnel (a v1 tunnel: IPv4 only) and of a family the target has, else the first of ours that fits,
 * as the server names a querier of its own; none inside our networks: no punch. Its underlay addresses are capped per
 * family as a querier's (its learned address and MAX_REPORTED reported ones) and judged by all of its addresses.
 */
export function tierPunch(env: LighthouseServerEnv, limiter: TierPunchLimiter, request: PunchRequest): void {
  const { target } = request;
  const host = env.hostFor(target);
  if (!host) return env.counters.inc('drops', 'lighthouse-tier-punch-unknown');
  const judgedBy = [...new Set([request.asker, ...(request.askers ?? [])])];
  const targetAddrs = addrsOf(host);
  if (judgedBy.some((a) => targetAddrs.includes(a))) return env.counters.inc('drops', 'lighthouse-tier-punch-asker');
  // Only the address we name must be ours: lighthouses of a tier may carry different networks (one on an IPv4-only
  // v1 certificate, hosts dual-stack), and the others still judge the asker's underlay addresses below.
  const networks = env.vpnNetworks();
  const ours = (request.askers ?? [request.asker]).filter((a) => inNetworks(a, networks));
  // Whoever can publish on the tier's subjects could otherwise make our hosts punch toward any address it names.
  if (ours.length === 0) return env.counters.inc('drops', 'lighthouse-tier-punch-asker');
  const version = host.certVersion ?? 1;
  const families = new Set(targetAddrs.map((a) => typeof a));
  const fitting = ours.filter((a) => fitsLayout(a, version));
  const asker = fitting.find((a) => families.has(typeof a)) ?? fitting[0];
  if (asker === undefined) return env.counters.inc('lighthouse', 'v1-ipv6-skipped');
  // Keyed by the address the notification names: that is where the host punches.
  const refused = limiter.refusal(target, asker);
  if (refused === 'pair') return env.counters.inc('drops', 'lighthouse-tier-punch-rate');
  if (refused === 'all') return env.counters.inc('drops', 'lighthouse-tier-punch-rate-all');
  const addrs = capAskerAddrs(request.askerAddrs).filter((a) => acceptable(env, judgedBy, a));
  env.send(host, { type: MetaType.HostPunchNotification, vpnIp: asker, addrs, relays: [], ...layout(version) });
  env.counters.inc('lighthouse', 'tier-punch');
}

/** At most MAX_REPORTED + 1 of each family (a querier's learned address and reported ones), in their order. */
function capAskerAddrs(addrs: readonly UdpAddr[]): UdpAddr[] {
  const v4 = addrs.filter((a) => !a.address.includes(':')).slice(0, MAX_REPORTED + 1);
  const v6 = addrs.filter((a) => a.address.includes(':')).slice(0, MAX_REPORTED + 1);
  return [...v4, ...v6];
}

/**
 * What the server keeps of a host's own report: no address inside our overlay networks, remote_allow_list passed for
 * every one of the host's overlay addresses `vpnAddrs`.
 */
function acceptable(env: LighthouseServerEnv, vpnAddrs: readonly VpnIp[], a: UdpAddr): boolean {
  if (underlayInNetworks(a, env.vpnNetworks())) return false;
  return vpnAddrs.every((vpnIp) => env.remoteAllowed(vpnIp, a));
}
