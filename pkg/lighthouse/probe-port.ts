// A mesh lighthouse's second UDP port (lighthouse.second_port): what lets a node behind one lighthouse tell its NAT's
// mapping and filtering behaviour (RFC 4787; the one-address variant of RFC 5780's tests) and how many hops away its
// outermost NAT is (punchy/nat-discovery.ts). Wire: punchy/nat-test-wire.ts; docs/mesh-extensions.md, "NAT tests".
//
//   NatProbe in      remembered (token -> source address) and never answered: whatever an unauthenticated sender
//                    sends here makes us send nothing.
//   NatTestRequest   (inside the tunnel) answered inside the tunnel with where a probe token was seen; an echo
//                    token goes out as a 21-byte NatEcho from this port, only to the address the tunnel sees the
//                    requester at (never one the request names), so it cannot be aimed at anyone else.
//
// Bounds (docs/security-model.md): probes are rate-limited per source IP (PROBES_PER_SOURCE per PROBE_WINDOW_MS,
// at most MAX_SOURCES sources tracked), at most MAX_RECORDS tokens are kept for RECORD_TTL_MS, and each peer gets
// at most REQUESTS_PER_PEER answered requests per REQUEST_WINDOW_MS.
//
// Nothing this socket receives reaches the tunnel pipeline: an authenticated packet sent here cannot roam a tunnel to
// this port, and the main socket's tunnels never see probe traffic.

import type { Clock } from '../clock/clock.js';
import type { HostInfo } from '../hostmap/hostinfo.js';
import { RateLimiter } from '../log/rate-limit.js';
import type { Counters } from '../metrics/counters.js';
import {
  decodeNatProbe,
  decodeNatTestRequest,
  encodeNatEcho,
  encodeNatTestReply,
  tokenKey,
  type NatTestRequest,
} from '../punchy/nat-test-wire.js';
import { isTcpAddr } from '../tcp/tcp-addr.js';
import type { UdpAddr } from '../udp/addr.js';
import type { UdpConn } from '../udp/udp-conn.js';

export const PROBES_PER_SOURCE = 20;
export const PROBE_WINDOW_MS = 1000;
export const MAX_SOURCES = 4096;
export const MAX_RECORDS = 4096;
export const RECORD_TTL_MS = 10_000;
export const REQUESTS_PER_PEER = 16;
export const REQUEST_WINDOW_MS = 5000;
export const MAX_PEERS = 4096;

export interface ProbePortEnv {
  clock: Clock;
  counters: Counters;
  /** Sends a lighthouse payload to `host` inside its tunnel. */
  sendInTunnel(host: HostInfo, payload: Uint8Array): void;
}

export class ProbePort {
  private readonly sources = new Map<string, RateLimiter>();
  private readonly peers = new Map<number, RateLimiter>();
  private readonly records = new Map<string, { from: UdpAddr; at: number }>();

  constructor(
    private readonly conn: UdpConn,
    private readonly env: ProbePortEnv,
  ) {
    conn.onPacket((packet, from) => this.onDatagram(packet, from));
  }

  get port(): number {
    return this.conn.localPort;
  }

  /** A bare datagram on the second port. */
  onDatagram(packet: Uint8Array, from: UdpAddr): void {
    const { counters, clock } = this.env;
    const token = decodeNatProbe(packet);
    if (!token) return counters.inc('drops', 'probe-port-malformed');
    const now = clock.now();
    if (
      bounded(this.sources, from.address, MAX_SOURCES, { burst: PROBES_PER_SOURCE, windowMs: PROBE_WINDOW_MS }).admit(
        now,
      ) < 0
    ) {
      return counters.inc('drops', 'probe-port-rate');
    }
    this.expire(now);
    const key = tokenKey(token);
    this.records.delete(key);
    if (this.records.size >= MAX_RECORDS) this.records.delete(this.records.keys().next().value as string);
    this.records.set(key, { from, at: now });
    counters.inc('probe-port', 'probe');
  }

  /** A decrypted NatTestRequest payload from `host`. */
  onRequest(host: HostInfo, payload: Uint8Array): void {
    const { counters, clock } = this.env;
    let req: NatTestRequest;
    try {
      req = decodeNatTestRequest(payload);
    } catch {
      return counters.inc('drops', 'nat-test-malformed');
    }
    if (
      bounded(this.peers, host.vpnIp, MAX_PEERS, { burst: REQUESTS_PER_PEER, windowMs: REQUEST_WINDOW_MS }).admit(
        clock.now(),
      ) < 0
    ) {
      return counters.inc('drops', 'nat-test-rate');
    }
    // Only a direct UDP tunnel has an address we saw the requester at; a relayed one, or one over TCP (a virtual
    // address no UDP socket can reach: tcp/tcp-addr.ts), gets no echo.
    if (req.echoToken && host.remote && !isTcpAddr(host.remote)) {
      this.conn.send(encodeNatEcho(req.echoToken), host.remote);
      counters.inc('probe-port', 'echo');
    }
    this.expire(clock.now());
    const seen = req.probeToken ? this.records.get(tokenKey(req.probeToken)) : undefined;
    this.env.sendInTunnel(
      host,
      encodeNatTestReply({
        vpnIp: typeof host.vpnIp === 'number' ? host.vpnIp : 0,
        probeToken: req.probeToken,
        seenAt: seen?.from,
        probePort: this.port,
      }),
    );
  }

  private expire(now: number): void {
    for (const [key, r] of this.records) {
      if (now - r.at < RECORD_TTL_MS) break; // insertion order is time order
      this.records.delete(key);
    }
  }

  close(): Promise<void> {
    return this.conn.close();
  }
}

/** The limiter of `key`, made on first use; the oldest is forgotten when `max` are kept. */
function bounded<K>(
  map: Map<K, RateLimiter>,
  key: K,
  max: number,
  limit: { burst: number; windowMs: number },
): RateLimiter {
  let l = map.get(key);
  if (!l) {
    if (map.size >= max) map.delete(map.keys().next().value as K);
    l = new RateLimiter(limit);
    map.set(key, l);
  }
  return l;
}
