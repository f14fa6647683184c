// Wires the TCP fallback (pkg/tcp, docs/tcp-fallback.md) into a node: wraps its UDP socket in a TcpUnderlay, opens
// the TCP listener of a lighthouse or relay, and gives a node with lighthouses the fallback controller.

import { bareHost } from '../config/addresses.js';
import { TCP_DEFAULTS } from '../config/section-tcp.js';
import type { MeshConfig } from '../config/index.js';
import { MessageType, TestSubType } from '../header/header.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import type { HandshakeManager } from '../handshake/manager.js';
import type { HostMap } from '../hostmap/hostmap.js';
import { parseVpnIp, type VpnIp } from '../ip/vpn-ip.js';
import type { Clock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import type { Counters } from '../metrics/counters.js';
import { sealForTunnel } from '../datapath/tunnel-sender.js';
import { TcpFallback } from '../tcp/fallback.js';
import { TcpServer } from '../tcp/server.js';
import { TcpUnderlay } from '../tcp/underlay.js';
import { addrKey, type UdpAddr } from '../udp/addr.js';
import type { UdpConn } from '../udp/udp-conn.js';

/** What the wiring needs from the node. */
export interface TcpNodeEnv {
  clock: Clock;
  log: Logger;
  counters: Counters;
  hostmap: HostMap;
  handshakes: HandshakeManager;
  config(): MeshConfig;
  lighthouses(): readonly VpnIp[];
  staticHosts(): ReadonlyMap<VpnIp, readonly UdpAddr[]>;
  deliver(packet: Buffer, from: UdpAddr, overTcp: boolean): void;
  sendTestRequest(host: HostInfo): void;
  relaysChanged(): void;
}

export interface TcpTransport {
  underlay: TcpUnderlay;
  fallback: TcpFallback | null;
}

/** Null when this node neither serves TCP nor falls back to it: its socket stays unwrapped. */
export async function openTcpTransport(raw: UdpConn, env: TcpNodeEnv): Promise<TcpTransport | null> {
  const c = env.config();
  const tcp = c.tcp ?? TCP_DEFAULTS;
  const serve = tcp.listen && (c.lighthouse.amLighthouse || c.relay.amRelay);
  const fallBack = tcp.fallback && !c.lighthouse.amLighthouse && env.lighthouses().length > 0;
  if (!serve && !fallBack) return null;
  const underlay = new TcpUnderlay(raw);
  underlay.onPacket((packet, from, overTcp) => env.deliver(packet, from, overTcp ?? false));
  if (serve) {
    const host = bareHost(c.listen.host);
    const port = tcp.port || raw.localPort;
    try {
      underlay.server = await TcpServer.listen(host, port, {
        clock: env.clock,
        counters: env.counters,
        deliver: (packet, from) => underlay.deliver(packet, from, true),
        remotesInUse: () => remotesInUse(env.hostmap),
      });
      env.log.info('Accepting TCP (fallback for UDP-blocked peers)', { tcpPort: underlay.server.port });
    } catch (e) {
      // UDP serves everyone else: a TCP port taken by another program costs only the fallback.
      env.log.warn('Cannot listen on TCP, UDP-blocked peers cannot reach this node', {
        tcpPort: port,
        error: (e as Error).message,
      });
    }
  }
  const fallback = fallBack ? makeFallback(underlay, env) : null;
  return { underlay, fallback };
}

function remotesInUse(hostmap: HostMap): Set<string> {
  const keys = new Set<string>();
  for (const h of hostmap.byPrimary.values()) if (h.remote) keys.add(addrKey(h.remote));
  for (const h of hostmap.candidates.values()) if (h.remote) keys.add(addrKey(h.remote));
  return keys;
}

function makeFallback(underlay: TcpUnderlay, env: TcpNodeEnv): TcpFallback {
  return new TcpFallback({
    clock: env.clock,
    counters: env.counters,
    log: env.log,
    underlay,
    servers: () => {
      const c = env.config();
      const lighthouses = env.lighthouses();
      const relays = c.relay.amRelay ? [] : c.relay.relays.map(parseVpnIp).filter((ip) => !lighthouses.includes(ip));
      return [...lighthouses, ...relays].map((vpnIp) => ({ vpnIp, addrs: env.staticHosts().get(vpnIp) ?? [] }));
    },
    lighthouseHeardSince: (since, lastFrameAt) =>
      env.lighthouses().some((ip) => {
        const h = env.hostmap.byVpnIp.get(ip);
        return h !== undefined && h.lastRecvAt >= since && h.lastRecvAt > (lastFrameAt?.(ip) ?? -Infinity);
      }),
    testLighthouses: () => {
      for (const ip of env.lighthouses()) {
        const h = env.hostmap.byVpnIp.get(ip);
        if (h?.remote) env.sendTestRequest(h);
      }
    },
    probeUdp: (vpnIp, to) => {
      const h = env.hostmap.byVpnIp.get(vpnIp);
      if (!h) return false;
      underlay.sendUdp(sealForTunnel(h, MessageType.Test, TestSubType.Request, new Uint8Array(0)), to);
      return true;
    },
    testOverLink: (vpnIp) => {
      const h = env.hostmap.byVpnIp.get(vpnIp);
      if (h?.remote) env.sendTestRequest(h);
    },
    linked: (vpnIp) => {
      const h = env.hostmap.byVpnIp.get(vpnIp);
      // A tunnel from before the fallback: a packet over the link shows the server where we are now.
      if (h) env.sendTestRequest(h);
      else env.handshakes.sendNow(vpnIp);
    },
    relaysChanged: () => env.relaysChanged(),
  });
}

/**
 * The receive path while on TCP, for a datagram that came over UDP from a server we reach over TCP: once it proves
 * authentic (the server's tunnel counted it), UDP works again.
 */
export function udpWhileOnTcp(fallback: TcpFallback, hostmap: HostMap, handle: () => void): void {
  const before = new Map<VpnIp, number>();
  for (const ip of fallback.tcpAttached()) before.set(ip, hostmap.byVpnIp.get(ip)?.packetsIn ?? 0);
  handle();
  for (const [ip, n] of before) {
    if ((hostmap.byVpnIp.get(ip)?.packetsIn ?? 0) > n) return fallback.udpWorks();
  }
}
