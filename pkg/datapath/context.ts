// What the inside and outside pipelines need from the node that owns them. Keeping this an interface lets unit
// tests drive both pipelines over in-memory TUN and UDP twins.

import type { Clock } from '../clock/clock.js';
import type { Firewall } from '../firewall/firewall.js';
import type { HandshakeManager } from '../handshake/manager.js';
import type { LocalIdentity } from '../handshake/identity.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import type { HostMap } from '../hostmap/hostmap.js';
import type { Logger } from '../log/logger.js';
import type { Counters } from '../metrics/counters.js';
import type { UdpAddr } from '../udp/addr.js';
import type { UdpConn } from '../udp/udp-conn.js';
import type { VpnIp } from '../ip/vpn-ip.js';
import type { Pipelines } from './pipelines.js';

export interface TunWriter {
  write(packet: Uint8Array): void;
  /** Many packets in one call (LinuxTun); tun-batch.ts uses it when present. */
  writeBatch?(packets: readonly Uint8Array[]): number;
}

export interface DataPathContext {
  /** This node's batches, scratch header and caches (pipelines.ts): made once per node, shared with no other. */
  readonly pipelines: Pipelines;
  clock: Clock;
  log: Logger;
  counters: Counters;
  hostmap: HostMap;
  handshakes: HandshakeManager;
  firewall(): Firewall;
  identity(): LocalIdentity;
  udp: UdpConn;
  tun: TunWriter | null;
  /** The overlay IP a packet for `dst` is sent to (itself inside the VPN network, or an unsafe route's gateway,
   * picked per flow from `packet`'s ports when the route has several: pkg/routing/ecmp.ts). */
  routeFor(dst: VpnIp, packet?: Uint8Array): VpnIp | null;
  /** Whether an underlay address may be used as a peer's remote (lighthouse.remote_allow_list). */
  remoteAllowed(vpnIp: VpnIp, addr: UdpAddr): boolean;
  sendRecvErrorTo(addr: UdpAddr): boolean;
  /** listen.accept_recv_error (Nebula 1.11): whether a recv_error from `addr` is acted on; absent = always. */
  acceptRecvErrorFrom?(addr: UdpAddr): boolean;
  /** Lighthouse and relay control messages, once authenticated. */
  onLighthouseMessage(host: HostInfo, payload: Uint8Array, from: UdpAddr | null): void;
  onControlMessage(host: HostInfo, payload: Uint8Array): void;
  /** A test request, after it was answered (mesh-only extensions ride on test payloads; nebula just echoes them). */
  onTestRequest(host: HostInfo, payload: Uint8Array): void;
  /** A test reply (RTT probes). `header` is the reply's own header; `from` is null when it came through a relay. */
  onTestReply(host: HostInfo, payload: Uint8Array, header: Uint8Array, from: UdpAddr | null): void;
  /** Wraps an end-to-end packet for a peer we only reach through a relay; false when no relay is up. */
  sendRelayed(host: HostInfo, packet: Uint8Array): boolean;
  /** We sent `host` something it should answer, on the tunnel's own path (the path-health detector counts it). */
  answerableSent?(host: HostInfo, test: boolean): void;
  /** A mesh-only bare datagram (a NatEcho, NAT_ECHO_LEN bytes: daemon/nat-tests.ts); true when it was taken. */
  onBareDatagram?(packet: Buffer, from: UdpAddr): boolean;
  /** Relayed packets (type 1 subtype 1). */
  onRelayPacket(packet: Buffer, relayIndex: number, counter: number, from: UdpAddr): void;
  closeTunnel(host: HostInfo, reason: string, notifyPeer: boolean): void;
  /** The peer may have lost `host`: handshake again; `host` stays in service until the new tunnel replaces it. */
  rehandshake(host: HostInfo): void;
  timers: { aliveIntervalMs: number; pendingDeletionIntervalMs: number };
  dropLocalBroadcast: boolean;
  dropMulticast: boolean;
}
