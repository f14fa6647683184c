// The outside pipeline: datagrams read from the UDP socket.
//
//   1. header    16 bytes or dropped (hole-punch bytes are shorter); never from inside our own VPN network; a
//                counter of 2^53 or more is refused (no honest sender reaches it, and it would lose precision)
//   2. dispatch  handshakes to the handshake machine, recv_error to its handler, relayed packets to the relay
//   3. lookup    the tunnel by our index (unknown: answer recv_error, subject to listen.send_recv_error)
//   4. replay    check the counter against the window (seen or too old: dropped, and on purpose no recv_error:
//                docs/differences-from-nebula.md)
//   5. decrypt   AEAD with the header as associated data; failures are dropped and counted, and change nothing.
//                Data packets are opened in batches (open-batch.ts: one crossing per tunnel per received batch);
//                every other packet first completes the pending batch, so nothing overtakes data that came first
//   6. accept    update the window, roam to the source address, mark the tunnel alive
//   7. deliver   data through the inbound firewall to the TUN; test, lighthouse, control and close to handlers
//
// Stricter than Nebula 1.6.1 and still interoperable: only authenticated packets change state (roaming,
// closeTunnel), because nothing before step 5 proves who sent the datagram (docs/wire-format.md, "Encrypted packets").

import { after } from '../clock/clock.js';
import {
  encodeHeader,
  HandshakeSubType,
  type Header,
  HEADER_LEN,
  MessageSubType,
  MessageType,
  NoSubType,
  readHeaderInto,
  TestSubType,
} from '../header/header.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import { formatVpnIp } from '../ip/vpn-ip.js';
import { addrKey, sameAddr, type UdpAddr } from '../udp/addr.js';
import type { DataPathContext } from './context.js';
import { logDroppedPacket } from './drop-log.js';
import { writeToTun } from './tun-batch.js';
import { NAT_ECHO_LEN } from '../punchy/nat-test-wire.js';
import { sendOnTunnel } from './tunnel-sender.js';
import { openForTunnel } from './open-packet.js';
import { dispatchHandshake } from './handshake-dispatch.js';

/** Roaming back to an address we just left is ignored this long: packets already in flight would flap it. */
export const ROAMING_SUPPRESS_MS = 2000;
/**
 * recv_errors from a tunnel's peer act at most once per this interval (a test request and a replacement
 * handshake each time): forged ones at any rate cost at most one handshake per interval and peer.
 */
export const RECV_ERROR_INTERVAL_MS = 1000;
/**
 * How long the peer has to answer the test request a recv_error sends before we handshake again: a round trip on
 * any but the slowest paths. A live peer's answer comes first, so forged recv_errors cost one test request each,
 * and no handshake that would make the peer (a Nebula one replaces its tunnel with it) change tunnels.
 */
export const RECV_ERROR_PROOF_WAIT_MS = 100;

export function handleUdpPacket(ctx: DataPathContext, packet: Buffer, from: UdpAddr): void {
  if (packet.length < HEADER_LEN) return drop(ctx, packet.length === 1 ? 'punch' : 'outside-short');
  // A NatEcho is 21 bytes, which no Nebula packet is (header and AEAD tag alone are 32).
  if (packet.length === NAT_ECHO_LEN && ctx.onBareDatagram?.(packet, from)) return;
  const path = ctx.pipelines.outside;
  if (path.sources.insideVpnNet(from.address, ctx.identity())) return drop(ctx, 'outside-from-vpn-net');
  const header = path.header;
  // The length was checked, so a refused header carries a counter no honest sender reaches (2^53 or more).
  if (!readHeaderInto(packet, header)) return drop(ctx, 'outside-bad-counter');
  if (header.type !== MessageType.Message || header.subtype !== MessageSubType.None) {
    path.flushOpened();
    // Completing the batch delivered data, and whatever that ran may have handled datagrams of its own through this
    // pipeline (a TUN write listener can): this datagram's header is read again.
    readHeaderInto(packet, header);
  }
  switch (header.type) {
    case MessageType.Handshake:
      return handleHandshake(ctx, packet, header, from);
    case MessageType.RecvError:
      return handleRecvError(ctx, header.remoteIndex, from);
    case MessageType.Message:
      if (header.subtype === MessageSubType.Relay)
        return ctx.onRelayPacket(packet, header.remoteIndex, header.counter, from);
      return handleTunnelPacket(ctx, packet, header, from);
    case MessageType.LightHouse:
    case MessageType.Test:
    case MessageType.CloseTunnel:
    case MessageType.Control:
      return handleTunnelPacket(ctx, packet, header, from);
    default:
      return drop(ctx, 'outside-unknown-type');
  }
}

/** handleUdpPacket with a data packet's batch completed before returning (for callers that look at its effects). */
export function handleUdpNow(ctx: DataPathContext, packet: Buffer, from: UdpAddr): void {
  handleUdpPacket(ctx, packet, from);
  flushOpened(ctx);
}

function handleHandshake(ctx: DataPathContext, packet: Buffer, header: Header, from: UdpAddr): void {
  if (header.subtype !== HandshakeSubType.IXPSK0) return drop(ctx, 'handshake-unknown-subtype');
  if (!ctx.remoteAllowed(0, from)) return drop(ctx, 'handshake-remote-denied');
  dispatchHandshake(ctx.handshakes, ctx.counters, packet, header, {
    from,
    reply: (p: Uint8Array) => ctx.udp.send(p, from),
  });
}

/**
 * Steps 3-7 for a packet that arrived directly, or (from = null) unwrapped from a relay; `h` is its header, already
 * read and accepted by step 1 (the relay path refuses short or 2^53-counter inner headers before calling this).
 */
export function handleTunnelPacket(ctx: DataPathContext, packet: Uint8Array, h: Header, from: UdpAddr | null): void {
  const { type, subtype, counter, remoteIndex } = h;
  const host = ctx.hostmap.byIndex.get(remoteIndex);
  if (!host) {
    if (from) sendRecvError(ctx, remoteIndex, from);
    return drop(ctx, 'outside-unknown-index');
  }
  // No recv_error for a replay (Nebula sends one): the index is known, so the real sender has the tunnel, and a
  // recv_error would only help someone replaying captured packets to make us tear tunnels down.
  if (!host.replay.check(counter)) return drop(ctx, 'outside-replay');
  // Relayed data (from = null) is opened at once: its relay looks at what each packet did right after handling it.
  if (from !== null && type === MessageType.Message && subtype === MessageSubType.None) {
    return ctx.pipelines.outside.openBatch().add(host, packet, counter, from);
  }
  const plaintext = openForTunnel(host, packet, counter);
  if (plaintext === null) return drop(ctx, 'outside-decrypt');
  if (!host.replay.update(counter)) return drop(ctx, 'outside-replay');
  const now = ctx.clock.now();
  accept(ctx, host, plaintext.length, from, now);
  switch (type) {
    case MessageType.Message:
      return deliver(ctx, host, plaintext, now);
    case MessageType.Test:
      if (subtype === TestSubType.Request) {
        sendOnTunnel(ctx, host, MessageType.Test, TestSubType.Reply, plaintext);
        ctx.onTestRequest(host, plaintext);
      } else ctx.onTestReply(host, plaintext, packet.subarray(0, HEADER_LEN), from);
      return;
    case MessageType.LightHouse:
      return ctx.onLighthouseMessage(host, plaintext, from);
    case MessageType.Control:
      return ctx.onControlMessage(host, plaintext);
    case MessageType.CloseTunnel:
      ctx.log.info('Close tunnel received, tearing down', { vpnIp: formatVpnIp(host.vpnIp), certName: host.certName });
      return ctx.closeTunnel(host, 'peer-closed', false);
  }
}

/** Completes steps 5-7 for the data packets batched so far (normally a microtask does this after each batch). */
export function flushOpened(ctx: DataPathContext): void {
  ctx.pipelines.outside.flushOpened();
}

/**
 * Steps 5-7 of a data packet, once the node's open batch (outside-path.ts) opened it (null: it did not authenticate);
 * `now` is the batch's time (open-batch.ts).
 */
export function openedData(
  ctx: DataPathContext,
  host: HostInfo,
  plaintext: Buffer | null,
  counter: number,
  from: UdpAddr,
  now: number,
): void {
  if (plaintext === null) return drop(ctx, 'outside-decrypt');
  if (!host.replay.update(counter)) return drop(ctx, 'outside-replay');
  accept(ctx, host, plaintext.length, from, now);
  deliver(ctx, host, plaintext, now);
}

/** Step 6 for an authenticated packet that arrived at `now` (its batch's time when it was opened in one). */
export function accept(ctx: DataPathContext, host: HostInfo, length: number, from: UdpAddr | null, now: number): void {
  host.lastRecvAt = now;
  if (host.recvErrors !== 0) {
    // The peer still has this tunnel: the recv_error was forged (or stale), so its replacement is not needed.
    host.recvErrors = 0;
    ctx.handshakes.tunnelAnswered(host);
  }
  host.packetsIn++;
  host.bytesIn += length;
  if (host.stage2Packet !== undefined) ctx.handshakes.peerHasStage2(host);
  if (from === null) return;
  // Proven by the tunnel's key: the socket keeps this sender among the long-lived ones, where a spoofed flood
  // cannot push it out (docs/security-model.md).
  ctx.udp.senders?.keep(from);
  if (!sameAddr(from, host.remote)) roam(ctx, host, from, now);
}

function roam(ctx: DataPathContext, host: HostInfo, from: UdpAddr, now: number): void {
  // Every address of the peer, as the handshake judged it (Nebula 1.10 checks them all when a host roams).
  if (!host.vpnAddrs.every((a) => ctx.remoteAllowed(a, from))) return drop(ctx, 'roam-denied');
  if (sameAddr(from, host.roamedFrom) && now - host.roamedAt < ROAMING_SUPPRESS_MS) return;
  ctx.log.info('Host roamed to new udp ip/port', {
    vpnIp: formatVpnIp(host.vpnIp),
    udpAddr: addrKey(from),
    previous: host.remote ? addrKey(host.remote) : 'relay',
  });
  host.roamedFrom = host.remote;
  host.roamedAt = now;
  host.remote = from;
  ctx.counters.inc('roams');
}

function deliver(ctx: DataPathContext, host: HostInfo, packet: Uint8Array, now: number): void {
  // IPv4 with a sane header length, or IPv6 with its fixed header; the firewall reads the rest (docs/ipv6.md).
  const version = packet.length > 0 ? packet[0] >> 4 : 0;
  if (version === 6) {
    if (packet.length < IPV6_HEADER_LEN) return drop(ctx, 'outside-not-ip');
  } else if (packet.length < 20 || version !== 4 || (packet[0] & 0x0f) < 5) return drop(ctx, 'outside-not-ip');
  const firewall = ctx.firewall();
  const reason = firewall.filter(packet, true, host.peer, now);
  if (reason !== null) {
    if (firewall.actionFor(true) === 'reject') {
      const reply = firewall.rejectReply(packet, true);
      if (reply) sendOnTunnel(ctx, host, MessageType.Message, MessageSubType.None, reply);
    }
    drop(ctx, `firewall-in-${reason}`);
    return logDroppedPacket(ctx, 'inbound', reason, packet, host.vpnIp);
  }
  writeToTun(ctx, packet);
}

/**
 * recv_error is unauthenticated by design (the peer has no tunnel to authenticate with), so it never tears a
 * tunnel down on its own. The first one from the tunnel's remote sends a test request; unanswered after
 * RECV_ERROR_PROOF_WAIT_MS, a replacement handshake starts while the tunnel stays in service: a peer that restarted
 * answers it within a round trip, and the new tunnel replaces the old one (its stage 2 is authenticated). A live
 * peer's authenticated answer, whenever it comes, ends the matter (see `accept`). Nebula 1.6.1 instead closes the
 * tunnel after a few recv_errors, which anyone who can spoof the peer's address can send.
 */
function handleRecvError(ctx: DataPathContext, remoteIndex: number, from: UdpAddr): void {
  const host = ctx.hostmap.byRemoteIndex.get(remoteIndex);
  if (!host) return drop(ctx, 'recv-error-unknown');
  ctx.counters.inc('recv-errors');
  if (!sameAddr(from, host.remote)) return drop(ctx, 'recv-error-wrong-source');
  if (ctx.acceptRecvErrorFrom?.(from) === false) return drop(ctx, 'recv-error-not-accepted');
  const now = ctx.clock.now();
  // Not reset by the peer's answers: the interval bounds what forged recv_errors can make us send.
  if (now - host.recvErrorAt < RECV_ERROR_INTERVAL_MS) return drop(ctx, 'recv-error-rate-limited');
  host.recvErrors = 1;
  host.recvErrorAt = now;
  sendOnTunnel(ctx, host, MessageType.Test, TestSubType.Request, new Uint8Array(0));
  after(ctx.clock, RECV_ERROR_PROOF_WAIT_MS, () => {
    // Unanswered (an answer resets recvErrors), and still the tunnel in service: the peer lost it.
    if (host.recvErrors !== 0 && host.recvErrorAt === now && ctx.hostmap.byVpnIp.get(host.vpnIp) === host)
      ctx.rehandshake(host);
  });
}

function sendRecvError(ctx: DataPathContext, remoteIndex: number, to: UdpAddr): void {
  if (!ctx.sendRecvErrorTo(to)) return;
  const out = new Uint8Array(HEADER_LEN);
  encodeHeader(out, 0, MessageType.RecvError, NoSubType, remoteIndex, 0);
  ctx.udp.send(out, to);
}

const IPV6_HEADER_LEN = 40;

function drop(ctx: DataPathContext, reason: string): void {
  ctx.counters.inc('drops', reason);
}
