// Sees test replies for our RTT probes. The outside pipeline answers test requests but has no hook for replies,
// so this listens on the UDP socket after the node (node:dgram calls listeners in order) and, only while a probe
// waits on that tunnel, opens the reply once more with the tunnel's receive key. Opening is side-effect free:
// the node has already run the replay window and roaming for the same datagram. Relayed replies are read from
// inside the relay frame (outer header ‖ inner packet ‖ tag); the inner AEAD authenticates them end to end.
//
// A `ctx.onTestReply(host, payload, from)` hook in outside.ts would make this file unnecessary.

import { HEADER_LEN, MessageType, readHeaderInto, TestSubType, type Header } from '../header/header.js';
import type { HostMap } from '../hostmap/hostmap.js';
import type { Ipv4 } from '../ip/ipv4.js';
import type { UdpAddr } from '../udp/addr.js';
import type { UdpConn } from '../udp/udp-conn.js';
import type { RttProbes } from './rtt-probes.js';

const TAG_LEN = 16;

export interface ReplyTapEnv {
  udp: UdpConn;
  hostmap: HostMap;
  probes: RttProbes;
  /** Relay index (ours) -> the relay's overlay IP, for terminal relay entries. */
  relayHop(relayIndex: number): Ipv4 | null;
}

export function installReplyTap(env: ReplyTapEnv): void {
  const outer: Header = { version: 0, type: 0, subtype: 0, reserved: 0, remoteIndex: 0, counter: 0 };
  const inner: Header = { ...outer };
  env.udp.onPacket((packet, from) => {
    if (!env.probes.active || !readHeaderInto(packet, outer)) return;
    if (outer.type === MessageType.Message && outer.subtype === 1) {
      const via = env.relayHop(outer.remoteIndex);
      if (via === null || packet.length < 2 * HEADER_LEN + 2 * TAG_LEN) return;
      const framed = packet.subarray(HEADER_LEN, packet.length - TAG_LEN);
      if (readHeaderInto(framed, inner)) openReply(env, framed, inner, null, via);
      return;
    }
    openReply(env, packet, outer, from, null);
  });
}

function openReply(env: ReplyTapEnv, packet: Uint8Array, h: Header, from: UdpAddr | null, via: Ipv4 | null): void {
  if (h.type !== MessageType.Test || h.subtype !== TestSubType.Reply || !env.probes.awaits(h.remoteIndex)) return;
  const host = env.hostmap.byIndex.get(h.remoteIndex);
  if (!host) return;
  const payload = host.keys.recv.open(h.counter, packet.subarray(HEADER_LEN), packet.subarray(0, HEADER_LEN));
  if (payload !== null) env.probes.onTestReply(host, payload, from, via);
}
