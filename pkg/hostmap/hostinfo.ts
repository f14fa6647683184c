// One established tunnel to one peer: keys, indexes, counters, the replay window, the peer's certificate and
// where its packets come from.

import { anyFingerprint, type AnyCertificate, type NebulaCertificate, type PeerCertBytes } from '../cert/index.js';
import type { FirewallPeer } from '../firewall/firewall.js';
import type { VpnIp } from '../ip/vpn-ip.js';
import type { Aead } from '../noise/aead.js';
import type { RelayEntry } from '../relay/relay-table.js';
import { ReplayWindow } from '../replay/replay-window.js';
import type { UdpAddr } from '../udp/addr.js';
import type { UdpConn } from '../udp/udp-conn.js';

/** A Nebula certificate version: 1 (protobuf, Nebula 1.0+) or 2 (ASN.1, Nebula 1.10+). */
export type CertVersion = 1 | 2;

export interface TunnelKeys {
  send: Aead;
  recv: Aead;
}

export class HostInfo {
  /** Our index: peers put it in the header of every packet they send us. */
  readonly localIndex: number;
  /** The peer's index, which we put in the header of every packet we send. */
  readonly remoteIndex: number;
  /** The peer's primary overlay address: the first of `vpnAddrs` (docs/ipv6.md). */
  readonly vpnIp: VpnIp;
  /**
   * Every overlay address of the peer that this tunnel answers for, in certificate order: the certificate's
   * addresses inside one of our networks (docs/ipv6.md, "A host's addresses"). The hostmap indexes the tunnel
   * under each. Never empty; `vpnAddrs[0] === vpnIp`.
   */
  readonly vpnAddrs: readonly VpnIp[];
  /**
   * The version of the certificate the peer presented in this tunnel's handshake (Nebula's ConnectionState
   * certificate version): lighthouse and relay messages to this peer use the matching message layout
   * (docs/certificates-v2.md).
   */
  readonly certVersion: CertVersion;
  /** The version of the certificate we presented in the handshake (Nebula's ConnectionState.myCert). */
  readonly localCertVersion: CertVersion;
  /** The signature of the certificate we presented: a reload that replaces it makes the tunnel handshake again. */
  readonly localCertSignature: Uint8Array | null;
  readonly #cert: PeerCertBytes;
  readonly peer: FirewallPeer;
  readonly keys: TunnelKeys;
  readonly replay = new ReplayWindow();
  /** Counter of the last packet sent; the first data packet uses 3 (stages 1 and 2 used 1 and 2). */
  sendCounter = 2;
  /** The peer's handshake `Time` (ns): a later handshake from the peer must carry a larger one. */
  readonly handshakeTime: number;
  /** null while the tunnel is only reachable through a relay. */
  remote: UdpAddr | null;
  /** A socket of its own (birthday punching found a path from it); null = the node's listen socket. */
  conn: UdpConn | null = null;
  /** The relay the handshake came through, used while `remote` is null. */
  relayVia: RelayEntry | null = null;
  /** Responder side: the stage-1 bytes we answered and the stage-2 packet we sent, for retransmits. */
  stage1?: Uint8Array;
  stage2Packet?: Uint8Array;
  readonly initiator: boolean;
  readonly createdAt: number;
  /** Unix seconds after which the peer's certificate or its CA is expired; a reload may bring a new CA. */
  certValidUntil: number;

  lastRecvAt: number;
  lastSendAt = 0;
  /**
   * The last tunnel packet sent straight to `remote` (its address object then) and when: the punch keep-alive
   * skips a tunnel that sent there within its interval (punchy/punchy.ts).
   */
  sentTo: UdpAddr | null = null;
  sentToAt = 0;
  /** Liveness: when the next check is due (0 = none scheduled) and whether a test request is outstanding. */
  checkAt = 0;
  /** Liveness: packetsIn when the last check passed (0: the tunnel's creation); a check passes when it grew since. */
  packetsInAtCheck = 0;
  pendingDeletion = false;

  /** Roaming suppression: the address we roamed away from and when. */
  roamedFrom: UdpAddr | null = null;
  roamedAt = 0;
  /**
   * 1 while a replacement handshake waits to see whether this tunnel still answers (after a recv_error or a
   * lighthouse push), until the next authenticated packet; when a recv_error last acted.
   */
  recvErrors = 0;
  recvErrorAt = -Infinity;
  /** After our own address changed: data waits until the far NAT has been punched open (see punchy/nat-punch.ts). */
  holdUntil = 0;
  /** When a replayed old stage 1 last made us send a test request on this tunnel. */
  staleStage1TestAt = -Infinity;
  bytesIn = 0;
  bytesOut = 0;
  packetsIn = 0;
  packetsOut = 0;

  constructor(init: {
    localIndex: number;
    remoteIndex: number;
    vpnIp: VpnIp;
    /** Defaults to `[vpnIp]`; when given, its first address is `vpnIp`. */
    vpnAddrs?: readonly VpnIp[];
    cert: PeerCertBytes;
    peer: FirewallPeer;
    keys: TunnelKeys;
    handshakeTime: number;
    remote: UdpAddr | null;
    initiator: boolean;
    now: number;
    certValidUntil?: number;
    /** Defaults to 1: the only version Nebula 1.6 speaks. */
    certVersion?: CertVersion;
    localCertVersion?: CertVersion;
    localCertSignature?: Uint8Array;
  }) {
    this.localIndex = init.localIndex;
    this.remoteIndex = init.remoteIndex;
    this.vpnIp = init.vpnIp;
    this.vpnAddrs = init.vpnAddrs && init.vpnAddrs.length > 0 ? init.vpnAddrs : [init.vpnIp];
    this.certVersion = init.certVersion ?? 1;
    this.localCertVersion = init.localCertVersion ?? 1;
    this.localCertSignature = init.localCertSignature ?? null;
    this.#cert = init.cert;
    this.peer = init.peer;
    this.keys = init.keys;
    this.handshakeTime = init.handshakeTime;
    this.remote = init.remote;
    this.initiator = init.initiator;
    this.createdAt = init.now;
    this.lastRecvAt = init.now;
    this.certValidUntil = init.certValidUntil ?? Infinity;
  }

  /**
   * Whether the peer behind this tunnel has shown it holds the certificate's key: as initiator the authenticated
   * stage 2 did, as responder only an authenticated packet does (stage 1 travels in clear and can be forged).
   */
  get proven(): boolean {
    return this.initiator || this.packetsIn > 0;
  }

  /** The peer certificate's name (the firewall keeps it; no decoding). */
  get certName(): string {
    return this.peer.name;
  }

  /** The peer's certificate, decoded anew on each call: for the control plane, reloads and log lines. */
  get cert(): NebulaCertificate {
    return this.#cert.decode();
  }

  /** The peer's certificate as it presented it, of either version: for verification on reload. */
  get presentedCert(): AnyCertificate {
    return this.#cert.decodeAny();
  }

  /** The peer certificate's fingerprint, computed on each call: only `mesh status` shows it (~80 bytes less a tunnel). */
  get fingerprint(): string {
    return anyFingerprint(this.presentedCert);
  }

  nextCounter(): number {
    return ++this.sendCounter;
  }
}
