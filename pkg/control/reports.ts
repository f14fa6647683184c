// The results the daemon sends for each control command: plain JSON-safe records (strings, numbers, null), the
// same ones `-json` prints, so scripts and the text renderers read one shape. Times are ISO-8601 UTC, ages in ms.

import type { PortMapReport } from '../portmap/node-portmap.js';

export type PathKind = 'direct' | 'relayed';

export interface PeerStatus {
  name: string;
  /** The tunnel's primary overlay address (IPv4 dotted or IPv6 text). */
  vpnIp: string;
  /** All of the tunnel's overlay addresses, primary first (a dual-stack peer has two or more); absent from older daemons. */
  vpnAddrs?: string[];
  /** Underlay address of a direct path; null while the tunnel only goes through a relay. */
  remote: string | null;
  path: PathKind;
  /** The relay's overlay IP when path is relayed (null if not known). */
  via: string | null;
  /** mesh TCP fallback: the path (direct, or to the relay) runs over TCP. */
  overTcp?: boolean;
  /** Last measured round trip over the tunnel; null when never measured or no reply. */
  rttMs: number | null;
  handshakeAt: string;
  lastRecvAgoMs: number;
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
  certExpiresAt: string;
  fingerprint: string;
  initiator: boolean;
  localIndex: number;
  remoteIndex: number;
}

export interface LighthouseStatus {
  vpnIp: string;
  name: string | null;
  reachable: boolean;
  remote: string | null;
  lastRecvAgoMs: number | null;
}

export interface PendingStatus {
  vpnIp: string;
  attempts: number;
  ageMs: number;
}

export interface SelfStatus {
  name: string;
  vpnIp: string;
  /** Our first overlay network (address/prefix length). */
  vpnCidr: string;
  /** All our overlay networks, certificate order (IPv4 and IPv6); absent from older daemons. */
  vpnCidrs?: string[];
  listenPort: number;
  /** Underlay addresses of this host (interface addresses with the listen port). */
  addresses: string[];
  lighthouse: boolean;
  relay: boolean;
  certExpiresAt: string;
  fingerprint: string;
  /** mesh TCP fallback: 'tcp' while UDP gets no answer and lighthouses and relays are reached over TCP. */
  transport?: 'udp' | 'tcp';
}

export interface StatusReport {
  self: SelfStatus;
  /** Port mapping on the gateway; null when off (absent from older daemons). */
  portmap?: PortMapReport | null;
  peers: PeerStatus[];
  pending: PendingStatus[];
  lighthouses: LighthouseStatus[];
}

export interface PingReply {
  vpnIp: string;
  name: string;
  rttMs: number;
  path: PathKind;
  /** Where the reply came from (direct) or null (relayed). */
  remote: string | null;
  via: string | null;
  /** mesh TCP fallback: the reply came over TCP (from a peer attached to our listener, or through a server we reach
   * over TCP). */
  overTcp?: boolean;
}

export interface CloseTunnelReply {
  vpnIp: string;
  name: string;
}

export interface ReloadReply {
  /** Settings that changed but only apply after a restart. */
  restartNeeded: string[];
}

export interface PrintCertReply {
  /** `nebula-cert print` text. */
  text: string;
  /** `nebula-cert print -json` object. */
  json: unknown;
}

export type MappingKind = 'endpoint-independent' | 'endpoint-dependent' | 'unknown';
/** RFC 4787 filtering as one lighthouse IP can tell it (punchy/nat-discovery.ts). */
export type FilteringKind = 'address-dependent' | 'address-and-port-dependent' | 'unknown';

export interface LighthouseObservation {
  vpnIp: string;
  name: string | null;
  /** Where we reach the lighthouse. */
  underlay: string | null;
  tunnel: boolean;
  rttMs: number | null;
  /** Our address as the lighthouse sees it; null when it did not say (a Nebula lighthouse, or no answer). */
  seenAs: string | null;
  /** mesh TCP fallback: we reach this lighthouse over TCP, UDP got no answer. */
  overTcp?: boolean;
}

export interface NatVerdict {
  /** UDP reached at least one lighthouse (true), none (false), or there is no lighthouse to try (null). */
  udpWorks: boolean | null;
  /** Some lighthouse saw us at an address that is not ours: there is a NAT (null: nobody said). */
  behindNat: boolean | null;
  mapping: MappingKind;
  /** Measured against a mesh lighthouse's second port; absent or 'unknown' when no lighthouse has one. */
  filtering?: FilteringKind;
  /** The learned IP TTL of low-TTL punches (hops to the outermost NAT + 1); null: not learned, the default is used. */
  punchTtl?: number | null;
  /** The NAT kept our listen port (null: not known). */
  portPreserving: boolean | null;
  /** Distinct public addresses the lighthouses saw. */
  publicAddresses: string[];
  /** One sentence per finding, in plain words. */
  summary: string[];
}

export interface NetcheckReport {
  localPort: number;
  /** Port mapping on the gateway; null when off (absent from older daemons). */
  portmap?: PortMapReport | null;
  localAddresses: string[];
  lighthouses: LighthouseObservation[];
  verdict: NatVerdict;
}
