// The inside pipeline: packets read from the TUN device travel to a peer.
//
//   1. parse     IPv4 only; the destination picks the peer (inside the VPN network, or an unsafe route's via)
//   2. lookup    an established tunnel, or start a handshake and queue the packet (filtered when flushed)
//   3. firewall  outbound rules and conntrack, against the peer's certificate
//   4. encrypt   header + AEAD with the tunnel's next counter
//   5. send      UDP to the tunnel's remote, or through a relay

import { MessageSubType, MessageType } from '../header/header.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import { readIpv4 } from '../ip/ipv4.js';
import type { DataPathContext } from './context.js';
import { logDroppedPacket } from './drop-log.js';
import { sendOnTunnel } from './tunnel-sender.js';

export function handleTunPacket(ctx: DataPathContext, packet: Uint8Array): void {
  if (packet.length < 20 || packet[0] >> 4 !== 4) return drop(ctx, 'inside-not-ipv4');
  const dst = readIpv4(packet, 16);
  if (ctx.dropMulticast && dst >>> 28 === 0xe) return drop(ctx, 'inside-multicast');
  const id = ctx.identity();
  if (dst === id.vpnIp) return drop(ctx, 'inside-to-self');
  if (ctx.dropLocalBroadcast && (dst === 0xffffffff || dst === ((id.vpnNet.ip | ~id.vpnNet.mask) >>> 0))) {
    return drop(ctx, 'inside-broadcast');
  }
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
  sendToHost(ctx, host, packet);
}

/** Steps 3-5 for one packet; also used to flush packets queued while a handshake was pending. */
export function sendToHost(ctx: DataPathContext, host: HostInfo, packet: Uint8Array): void {
  // Right after we moved, a full-TTL packet reaching the peer's NAT before it punched toward our new address would
  // leave an unreplied flow there that blocks the path; the refresh in progress re-opens it within moments.
  if (host.holdUntil !== 0 && ctx.clock.now() < host.holdUntil) return drop(ctx, 'inside-roam-settle');
  const firewall = ctx.firewall();
  const reason = firewall.filter(packet, false, host.peer);
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
