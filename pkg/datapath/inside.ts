// The inside pipeline: packets read from the TUN device travel to a peer.
//
//   1. parse     the version nibble picks IPv4 (destination at 16..19) or IPv6 (24..39, docs/ipv6.md); the
//                destination picks the peer (inside one of our networks, or an unsafe route's via). IPv6 packets
//                the kernel sends on its own (link-local, multicast: router solicitations, MLD) are dropped here
//   2. lookup    an established tunnel, or start a handshake and queue the packet (filtered when flushed)
//   3. firewall  outbound rules and conntrack, against the peer's certificate
//   4. encrypt   header + AEAD with the tunnel's next counter
//   5. send      UDP to the tunnel's remote, or through a relay
//
// `now` is the time of the TUN read the packet came in (read once per read, docs/state-machines.md "Data path time"):
// steps 3 and the roam settle judge by it.

import { MessageSubType, MessageType } from '../header/header.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import { readIpv4 } from '../ip/ipv4.js';
import type { VpnIp } from '../ip/vpn-ip.js';
import type { DataPathContext } from './context.js';
import { logDroppedPacket } from './drop-log.js';
import { sendOnTunnel } from './tunnel-sender.js';

const IPV6_HEADER_LEN = 40;
const IPV6_DST_OFFSET = 24;

export function handleTunPacket(ctx: DataPathContext, packet: Uint8Array, now: number): void {
  const version = packet.length > 0 ? packet[0] >> 4 : 0;
  if (version === 6) return handleTunPacket6(ctx, packet, now);
  if (packet.length < 20 || version !== 4) return drop(ctx, 'inside-not-ip');
  const dst = readIpv4(packet, 16);
  if (ctx.dropMulticast && dst >>> 28 === 0xe) return drop(ctx, 'inside-multicast');
  const id = ctx.identity();
  if (dst === id.vpnIp || (id.vpnAddrs.length > 1 && id.vpnAddrs.includes(dst))) return drop(ctx, 'inside-to-self');
  if (ctx.dropLocalBroadcast && (dst === 0xffffffff || dst === (id.vpnNet.ip | ~id.vpnNet.mask) >>> 0)) {
    return drop(ctx, 'inside-broadcast');
  }
  route(ctx, dst, packet, now);
}

/**
 * An IPv6 packet from the TUN. The kernel sends some on every interface with an IPv6 address (router and neighbour
 * solicitations, MLD reports to ff02::/16, from fe80::/10): no peer owns those destinations, so they are dropped
 * quietly by reason and never turn into a lighthouse query. Judged on the bytes before any string is made.
 */
function handleTunPacket6(ctx: DataPathContext, packet: Uint8Array, now: number): void {
  if (packet.length < IPV6_HEADER_LEN) return drop(ctx, 'inside-ipv6-short');
  const d0 = packet[IPV6_DST_OFFSET];
  if (d0 === 0xff) return drop(ctx, 'inside-ipv6-multicast');
  if (d0 === 0xfe && (packet[IPV6_DST_OFFSET + 1] & 0xc0) === 0x80) return drop(ctx, 'inside-ipv6-link-local');
  const dst = ctx.pipelines.inside.destination6(packet, IPV6_DST_OFFSET);
  // An IPv4-mapped destination (::ffff:a.b.c.d) names an IPv4 host, which an IPv6 packet cannot reach.
  if (typeof dst === 'number') return drop(ctx, 'inside-ipv6-mapped');
  if (ctx.identity().vpnAddrs.includes(dst)) return drop(ctx, 'inside-to-self');
  route(ctx, dst, packet, now);
}

function route(ctx: DataPathContext, dst: VpnIp, packet: Uint8Array, now: number): void {
  const vpnIp = ctx.routeFor(dst, packet);
  if (vpnIp === null) {
    drop(ctx, 'inside-no-route');
    return logDroppedPacket(ctx, 'outbound', 'no-route', packet, null);
  }
  const host = ctx.hostmap.byVpnIp.get(vpnIp);
  if (!host) {
    ctx.handshakes.start(vpnIp, packet);
    return;
  }
  sendToHost(ctx, host, packet, now);
}

/** Steps 3-5 for one packet at `now`; also used to flush packets queued while a handshake was pending. */
export function sendToHost(ctx: DataPathContext, host: HostInfo, packet: Uint8Array, now: number): void {
  // Right after we moved, a full-TTL packet reaching the peer's NAT before it punched toward our new address would
  // leave an unreplied flow there that blocks the path; the refresh in progress re-opens it within moments.
  if (host.holdUntil !== 0 && now < host.holdUntil) return drop(ctx, 'inside-roam-settle');
  const firewall = ctx.firewall();
  const reason = firewall.filter(packet, false, host.peer, now);
  if (reason !== null) {
    if (firewall.actionFor(false) === 'reject') {
      const reply = firewall.rejectReply(packet, false);
      if (reply) ctx.tun?.write(reply);
    }
    drop(ctx, `firewall-out-${reason}`);
    return logDroppedPacket(ctx, 'outbound', reason, packet, host.vpnIp);
  }
  sendOnTunnel(ctx, host, MessageType.Message, MessageSubType.None, packet);
}

function drop(ctx: DataPathContext, reason: string): void {
  ctx.counters.inc('drops', reason);
}
