// Birthday punching wired to a node (the method is described in punchy/birthday.ts): the symmetric side's many
// sockets, the port-preserving side's probes, and moving a tunnel onto the socket a probe reached.

import { sendOnTunnel } from '../datapath/tunnel-sender.js';
import { HEADER_LEN, MessageType, parseHeader } from '../header/header.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import { formatIpv4 } from '../ip/ipv4.js';
import type { Logger } from '../log/logger.js';
import type { Counters } from '../metrics/counters.js';
import {
  ATTEMPT_MS,
  BIRTHDAY_PROBE,
  BIRTHDAY_REQUEST,
  PORT_MAX,
  PORT_MIN,
  PROBE_TICK_MS,
  PROBES,
  PROBES_PER_TICK,
  SOCKETS,
} from '../punchy/birthday.js';
import { PUNCH_TTL } from '../punchy/nat-punch.js';
import { PUNCH_BYTE } from '../punchy/punchy.js';
import { isIpv6Addr, udpAddr, type UdpAddr } from '../udp/addr.js';
import { DgramConn, type UdpConn } from '../udp/udp-conn.js';
import type { DataPathContext } from '../datapath/context.js';

export interface BirthdayEnv {
  ctx: DataPathContext;
  log: Logger;
  counters: Counters;
  /** Every datagram a chosen socket receives goes through the outside pipeline. */
  onUdp(packet: Buffer, from: UdpAddr): void;
  stopped(): boolean;
}

export class Birthday {
  private readonly lastAttempt = new Map<number, number>();
  private readonly probing = new Set<number>();
  /** Sockets that carry a tunnel, closed with the node. */
  readonly owned = new Set<UdpConn>();

  constructor(private readonly env: BirthdayEnv) {}

  /** Symmetric side: ask the peer to probe, then open SOCKETS mappings toward its public address. */
  async start(host: HostInfo, peerPublic: UdpAddr): Promise<void> {
    const now = Date.now();
    if (isIpv6Addr(peerPublic) || now - (this.lastAttempt.get(host.vpnIp) ?? 0) < 4 * ATTEMPT_MS) return;
    this.lastAttempt.set(host.vpnIp, now);
    const { ctx, log, counters } = this.env;
    log.info('Trying birthday punching toward a port-preserving NAT', { vpnIp: formatIpv4(host.vpnIp), udpAddr: `${peerPublic.address}:${peerPublic.port}` });
    counters.inc('birthday', 'attempt');
    const conns = await Promise.all(Array.from({ length: SOCKETS }, () => DgramConn.open({ host: '0.0.0.0', port: 0 }).catch(() => null)));
    const open = conns.filter((c): c is DgramConn => c !== null);
    let chosen: UdpConn | null = null;
    for (const conn of open) {
      conn.onPacket((packet, from) => {
        if (chosen === conn) return this.env.onUdp(packet, from);
        if (chosen !== null || !this.authentic(host, packet)) return;
        chosen = conn;
        host.conn?.close().catch(() => undefined);
        host.conn = conn;
        this.owned.add(conn);
        counters.inc('birthday', 'success');
        log.info('Birthday punching found a direct path', { vpnIp: formatIpv4(host.vpnIp), udpAddr: `${from.address}:${from.port}` });
        this.env.onUdp(packet, from);
        for (const other of open) if (other !== conn) void other.close();
      });
      conn.sendWithTtl(PUNCH_BYTE, peerPublic, PUNCH_TTL);
    }
    sendOnTunnel(ctx, host, MessageType.Test, 0, BIRTHDAY_REQUEST);
    setTimeout(() => {
      if (chosen === null) {
        counters.inc('birthday', 'timeout');
        for (const conn of open) void conn.close();
      }
    }, ATTEMPT_MS).unref();
  }

  /** A packet for `host` that decrypts (checked without touching the replay window: the pipeline does that). */
  private authentic(host: HostInfo, packet: Buffer): boolean {
    const h = parseHeader(packet);
    if (!h || h.type !== MessageType.Test || h.remoteIndex !== host.localIndex || !host.replay.check(h.counter)) return false;
    return host.keys.recv.open(h.counter, packet.subarray(HEADER_LEN), packet.subarray(0, HEADER_LEN)) !== null;
  }

  /** Port-preserving side: the peer asked; probe random ports of its public IP until its reply arrives directly. */
  onTestRequest(host: HostInfo, payload: Uint8Array, peerPublic: UdpAddr | undefined): void {
    if (!isPayload(payload, BIRTHDAY_REQUEST) || !peerPublic || isIpv6Addr(peerPublic) || this.probing.has(host.vpnIp)) return;
    const { ctx, counters } = this.env;
    this.probing.add(host.vpnIp);
    counters.inc('birthday', 'probing');
    let sent = 0;
    const tick = (): void => {
      const done = host.remote !== null || sent >= PROBES || this.env.stopped() || ctx.hostmap.byVpnIp.get(host.vpnIp) !== host;
      if (done) {
        this.probing.delete(host.vpnIp);
        counters.inc('birthday', 'probes-sent', sent);
        return;
      }
      for (let i = 0; i < PROBES_PER_TICK && sent < PROBES; i++, sent++) {
        const port = PORT_MIN + Math.floor(Math.random() * (PORT_MAX - PORT_MIN + 1));
        sendOnTunnel(ctx, host, MessageType.Test, 0, BIRTHDAY_PROBE, udpAddr(peerPublic.address, port));
      }
      setTimeout(tick, PROBE_TICK_MS).unref();
    };
    tick();
  }

  closeAll(): void {
    for (const conn of this.owned) void conn.close();
    this.owned.clear();
  }
}

function isPayload(payload: Uint8Array, marker: Uint8Array): boolean {
  return payload.length === marker.length && payload.every((b, i) => b === marker[i]);
}
