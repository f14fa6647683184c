// The relay manager's view of the node (relay/manager.ts RelayEnv): our identity and relay settings as configured
// now, the handshake manager, the listen socket, and the receive pipeline for what arrives through a relay.

import type { Clock } from '../clock/clock.js';
import { dispatchHandshake } from '../datapath/handshake-dispatch.js';
import { accept, handleTunnelPacket } from '../datapath/outside.js';
import { sendOnTunnel } from '../datapath/tunnel-sender.js';
import { HEADER_LEN, MessageSubType, MessageType, NoSubType, parseHeader } from '../header/header.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import type { HostMap } from '../hostmap/hostmap.js';
import type { IpPrefix } from '../ip/prefix.js';
import type { VpnIp } from '../ip/vpn-ip.js';
import type { Logger } from '../log/logger.js';
import type { Counters } from '../metrics/counters.js';
import { encodeControl, type ControlMessage } from '../relay/control.js';
import type { RelayEnv } from '../relay/manager.js';
import type { RelayEntry } from '../relay/relay-table.js';
import type { UdpAddr } from '../udp/addr.js';
import type { MeshNode } from './node.js';

export class RelayWiring implements RelayEnv {
  readonly hostmap: HostMap;
  readonly counters: Counters;
  readonly log: Logger;
  readonly clock: Clock;

  constructor(private readonly node: MeshNode) {
    this.hostmap = node.hostmap;
    this.counters = node.counters;
    this.log = node.log;
    this.clock = node.clock;
  }

  // RelayIdentity

  myAddrs(): readonly VpnIp[] {
    return this.node.identity().vpnAddrs;
  }

  vpnNetworks(): readonly IpPrefix[] {
    return this.node.identity().vpnNetworks;
  }

  // RelaySettings

  amRelay(): boolean {
    return this.node.currentConfig().relay.amRelay;
  }

  relaysForUs(): readonly VpnIp[] {
    return this.node.advertisedRelays();
  }

  // RelayHandshakes

  startHandshake(vpnIp: VpnIp): boolean {
    if (this.hostmap.byVpnIp.has(vpnIp) || this.node.handshakes.pending.has(vpnIp)) return false;
    return this.node.handshakes.start(vpnIp) !== undefined;
  }

  handshakePending(vpnIp: VpnIp): boolean {
    return this.node.handshakes.pending.has(vpnIp);
  }

  // RelaySender

  sendControl(host: HostInfo, m: ControlMessage): void {
    sendOnTunnel(this.node, host, MessageType.Control, NoSubType, encodeControl(m));
  }

  sendOnHop(hop: HostInfo, frame: Uint8Array): void {
    if (hop.remote) (hop.conn ?? this.node.udp).send(frame, hop.remote);
  }

  // RelayedDelivery

  acceptOnHop(hop: HostInfo, length: number, from: UdpAddr): void {
    accept(this.node, hop, length, from, this.node.clock.now());
  }

  /** An inner packet that reached us through a relay: handshakes answer back through it, the rest as usual. */
  deliverInner(inner: Uint8Array, via: RelayEntry): void {
    const node = this.node;
    const h = parseHeader(inner);
    if (!h)
      return this.counters.inc('drops', inner.length < HEADER_LEN ? 'relay-inner-short' : 'relay-inner-bad-counter');
    if (h.type === MessageType.Handshake) {
      const src = { from: null, via, reply: (p: Uint8Array) => void node.relays.sendVia(via, p) };
      return dispatchHandshake(node.handshakes, this.counters, inner, h, src);
    }
    if (h.type === MessageType.Message && h.subtype === MessageSubType.Relay)
      return this.counters.inc('drops', 'relay-nested');
    const host = this.hostmap.byIndex.get(h.remoteIndex);
    const previousRecvAt = host?.lastRecvAt ?? 0;
    const packetsIn = host?.packetsIn ?? 0;
    handleTunnelPacket(node, inner, h, null);
    // Authenticated (counted) and still current: the peer may be telling us its direct path went dead.
    if (host && host.packetsIn > packetsIn && this.hostmap.byVpnIp.get(host.vpnIp) === host)
      node.paths.arrivedViaRelay(host, via, previousRecvAt);
  }

  // RelayEvents

  relayReady(vpnIp: VpnIp): void {
    this.node.handshakes.sendNow(vpnIp);
    this.node.paths.relayReady(vpnIp);
  }

  relayLost(host: HostInfo): void {
    this.node.handshakes.replace(host);
  }
}
