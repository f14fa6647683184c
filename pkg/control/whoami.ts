// "How do you see me?" between mesh nodes, for `mesh netcheck`, on Nebula's defined-but-unused lighthouse types:
//
//   asker -> peer   NebulaMeta{Type: HostWhoami (6),      Details{VpnIp: asker}}
//   peer -> asker   NebulaMeta{Type: HostWhoamiReply (7), Details{VpnIp: asker, Ip4AndPorts/Ip6AndPorts: [the
//                   underlay address the peer's tunnel to the asker uses now], counter (3): a mesh lighthouse's
//                   second UDP port for NAT tests (punchy/nat-discovery.ts), absent when it has none}}
//
// Any mesh node answers (it only tells the asker its own address); netcheck asks the lighthouses. Nebula 1.6.1
// ignores type 6, so asking a Nebula lighthouse times out and netcheck says "unknown".
//
// The node offers every decrypted lighthouse message here first (MeshNode.onLighthouseMessage), before its own handling.

import { after, systemClock, type Clock } from '../clock/clock.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import type { VpnIp } from '../ip/vpn-ip.js';
import { decodeMeta, layout, MetaType, type MetaMessage } from '../lighthouse/meta.js';
import type { MetaSender } from '../lighthouse/meta-sender.js';
import { isTcpAddr } from '../tcp/tcp-addr.js';
import type { UdpAddr } from '../udp/addr.js';
import { ControlError, ControlErrorCode } from './protocol.js';

export interface WhoamiEnv extends MetaSender {
  /** Timers for the waits (default: real time). */
  readonly clock?: Clock;
  /** Our primary overlay address: the one a whoami names us by. */
  myIp(): VpnIp;
  /** A lighthouse's second UDP port (lighthouse/probe-port.ts), announced in the reply; 0 or absent: none. */
  probePort?(): number;
}

interface Waiter {
  resolve(addrs: UdpAddr[]): void;
  reject(e: Error): void;
  cancel: () => void;
}

export class Whoami {
  private readonly waiting = new Map<VpnIp, Waiter[]>();

  constructor(private readonly env: WhoamiEnv) {}

  /** Asks `peer` which underlay address it sees us at. */
  ask(peer: HostInfo, timeoutMs: number): Promise<UdpAddr[]> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        cancel: after(this.env.clock ?? systemClock, timeoutMs, () => {
          this.drop(peer.vpnIp, waiter);
          reject(new ControlError(ControlErrorCode.timeout, 'no whoami reply'));
        }),
      };
      const list = this.waiting.get(peer.vpnIp) ?? [];
      list.push(waiter);
      this.waiting.set(peer.vpnIp, list);
      this.env.send(peer, whoamiQuestion(this.env.myIp()));
    });
  }

  /** Ends every wait (the node stops): each asker is told no reply came. */
  clear(): void {
    const waiting = [...this.waiting.entries()];
    this.waiting.clear();
    for (const [, list] of waiting) {
      for (const w of list) {
        w.cancel();
        w.reject(new ControlError(ControlErrorCode.timeout, 'the node stopped before a whoami reply'));
      }
    }
  }

  /** Handles a decrypted lighthouse message if it is a whoami; returns false to let the node have it. */
  onMeta(from: HostInfo, payload: Uint8Array): boolean {
    // NebulaMeta starts with field 1 (Type) as a one-byte varint: 0x08, then 6 or 7. Anything else is not ours,
    // and is not decoded twice.
    if (
      payload.length < 2 ||
      payload[0] !== 0x08 ||
      (payload[1] !== MetaType.HostWhoami && payload[1] !== MetaType.HostWhoamiReply)
    ) {
      return false;
    }
    let m: MetaMessage;
    try {
      m = decodeMeta(payload);
    } catch {
      return false;
    }
    if (m.type === MetaType.HostWhoami) {
      // A host attached over TCP (docs/tcp-fallback.md) has no UDP address we could tell it: its virtual one is not.
      const addrs = from.remote && !isTcpAddr(from.remote) ? [from.remote] : [];
      const probePort = this.env.probePort?.() ?? 0;
      this.env.send(from, {
        type: MetaType.HostWhoamiReply,
        vpnIp: from.vpnIp,
        addrs,
        relays: [],
        ...(probePort ? { probePort } : {}),
        ...whoamiLayout(from.vpnIp),
      });
      return true;
    }
    if (m.vpnIp !== this.env.myIp()) return true;
    const list = this.waiting.get(from.vpnIp) ?? [];
    this.waiting.delete(from.vpnIp);
    for (const w of list) {
      w.cancel();
      w.resolve(m.addrs);
    }
    return true;
  }

  private drop(peer: VpnIp, waiter: Waiter): void {
    const list = (this.waiting.get(peer) ?? []).filter((w) => w !== waiter);
    if (list.length > 0) this.waiting.set(peer, list);
    else this.waiting.delete(peer);
  }
}

/** The HostWhoami naming us (`me`, our primary address), in the layout that can carry it (whoamiLayout). */
export function whoamiQuestion(me: VpnIp): MetaMessage {
  return { type: MetaType.HostWhoami, vpnIp: me, addrs: [], relays: [], ...whoamiLayout(me) };
}

/**
 * Whoami is mesh-only and went in the v1 layout; a host named by an IPv6 address needs the v2 one (its Addr field),
 * which every mesh node that has IPv6 addresses decodes (docs/ipv6.md).
 */
function whoamiLayout(named: VpnIp): { version?: 2 } {
  return layout(typeof named === 'string' ? 2 : 1);
}

/** Puts `whoami` in front of the node's lighthouse message handler. */
