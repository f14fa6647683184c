// The handshake machine (Noise IX): starts handshakes on demand, retransmits stage 1 with linear backoff, and
// completes stage 2 as initiator. As responder it answers stage 1 (retransmits with the cached stage 2) with a
// candidate tunnel, which a peer's first authenticated packet promotes into service: stage 1 can be forged, so an
// answer alone never replaces a tunnel nor becomes one (candidate-slots.ts decides which stage 1s are answered). It
// resolves races (the higher overlay IP stays initiator). It owns no socket, and its one timer (a stage 1 waiting
// for a punch to settle) goes through the injected Clock: the daemon calls `tick()` and hands it packets; it talks
// back through `HandshakeEnv`. States and events: docs/state-machines.md, "Handshake".

import type { CaPool } from '../cert/index.js';
import { after, unixMs, type Clock } from '../clock/clock.js';
import { encodeHeader, HandshakeSubType, HEADER_LEN, MessageType } from '../header/header.js';
import { HostInfo, type CertVersion, type TunnelKeys } from '../hostmap/hostinfo.js';
import type { HostMap } from '../hostmap/hostmap.js';
import type { LogFields, Logger } from '../log/logger.js';
import { RateLimitedLog } from '../log/rate-limit.js';
import type { Counters } from '../metrics/counters.js';
import type { AeadCipher as NoiseCipher } from '../noise/aead.js';
import { EphemeralKeys } from '../noise/ephemeral-keys.js';
import { IxInitiator, IxResponder } from '../noise/ix.js';
import type { RelayEntry } from '../relay/relay-table.js';
import { addrKey, sameAddr, type UdpAddr } from '../udp/addr.js';
import { chooseCandidateSlot, type CandidateSource } from './candidate-slots.js';
import { CandidateTestRequests } from './candidate-test-requests.js';
import { credentialFor, staticKeyOf, type HandshakeCredential, type LocalIdentity } from './identity.js';
import {
  decodeHandshakePayload,
  encodeHandshakePayload,
  payloadCertVersion,
  type HandshakeDetails,
} from './payload.js';
import { usablePeerAddrs } from './peer-addrs.js';
import { PendingHandshake } from './pending.js';
import { verifyPeerCert, type VerifiedPeer } from './peer-cert.js';
import { Stage2Flush } from './stage2-flush.js';
import { versionRehandshake } from './version-rules.js';
import { compareVpnIp, formatVpnIp, type VpnIp } from '../ip/vpn-ip.js';

/**
 * Now in (fractional) unix seconds for certificate validity: a certificate is expired once the time is past its
 * notAfter, to the millisecond as in Nebula; whole seconds would accept it for up to 1 s more, and a tunnel closed
 * at the expiry (pki.disconnect_invalid) would be handshaken again meanwhile.
 */
function certTime(clock: Clock): number {
  return unixMs(clock) / 1000;
}

/** Where a handshake packet came from: a UDP address, or a relay (then `from` is null and replies go back through it). */
export interface PacketSource {
  from: UdpAddr | null;
  reply(packet: Uint8Array): void;
  /** Set when the packet came through a relay. */
  via?: RelayEntry;
}

export interface HandshakeEnv {
  hostmap: HostMap;
  clock: Clock;
  log: Logger;
  counters: Counters;
  cipher: NoiseCipher;
  tryIntervalMs: number;
  retries: number;
  identity(): LocalIdentity;
  caPool(): CaPool;
  /** Known underlay addresses for a peer (static map, lighthouse answers), best first. */
  candidates(vpnIp: VpnIp): UdpAddr[];
  send(packet: Uint8Array, to: UdpAddr): void;
  /** lighthouse.remote_allow_list and remote_allow_ranges, judged once the peer's overlay IP is known. */
  remoteAllowed(vpnIp: VpnIp, addr: UdpAddr): boolean;
  /** A low-TTL punch that opens our NAT toward `to` without reaching the far NAT (see punchy/nat-punch.ts). */
  openMapping(to: UdpAddr): void;
  /** How long full-TTL stage 1 waits after the low-TTL punch to a newly learned address. */
  punchSettleMs: number;
  /**
   * Splits a peer's new addresses into those stage 1 may go to at once and those behind a NAT that a premature
   * full-TTL packet could poison (see punchy/punch-needed.ts).
   */
  splitByPunch(vpnIp: VpnIp, addrs: readonly UdpAddr[]): { direct: UdpAddr[]; punched: UdpAddr[] };
  /**
   * Sends stage 1 through each relay the lighthouses named for the peer (setting relays up as needed), on every
   * attempt alongside the direct candidates; does nothing without relays, with relay.use_relays off, or on a relay.
   */
  sendViaRelays?(vpnIp: VpnIp, packet: Uint8Array): void;
  queryLighthouse(vpnIp: VpnIp): void;
  /**
   * Hands what was sent so far to the kernel now instead of at the end of the turn (batched UDP). A handshake
   * packet, and the lighthouse query a handshake waits for, starts a round trip that a first packet waits out, so it
   * must not also wait for the rest of the turn's work (building stage 1, answering other datagrams).
   */
  flushSends?(): void;
  /** A handshake became pending: `tick` must now run every few milliseconds until none is. */
  handshakePending?(): void;
  /** A tunnel is up: flush the queued packets through the outbound firewall. */
  established(host: HostInfo, queued: Uint8Array[], replaced: HostInfo | undefined): void;
  /** A tunnel exists and a peer sent an older handshake: prove liveness over the existing tunnel. */
  sendTestRequest(host: HostInfo): void;
  sendClose(keys: TunnelKeys, remoteIndex: number, to: UdpAddr): void;
  /** A handshake to `vpnIp` timed out (its queue is dropped). Optional; the daemon does not implement it today. */
  handshakeFailed?(vpnIp: VpnIp): void;
}

/**
 * A promoted candidate's 'Handshake completed' line and version check wait this long after the packet that promoted
 * it, so that the packet's answer leaves first (promote; docs/state-machines.md, "Responder and candidate tunnels").
 */
export const PROMOTED_AFTERMATH_MS = 1;
/** Nebula's initiator gives up after ~5.5 s of retransmits; a stage 1 older than this is never seen again. */
export const RETRANSMIT_MEMORY_MS = 30_000;
/**
 * A peer's handshake Time is stored as at most our wall time plus this: a forged or wild Time (up to 2^64-1 ns)
 * must not make every later handshake of the real peer "too old" (docs/security-model.md).
 */
export const HANDSHAKE_TIME_SKEW_MS = 1000;
export { CANDIDATE_HOLD_MS, MAX_CANDIDATES_PER_VPN_IP } from './candidate-slots.js';
export { CANDIDATE_TEST_DELAY_MS } from './candidate-test-requests.js';
/**
 * A handshake we start toward a peer whose stage 1 we answered less than this ago waits out the rest before sending
 * its own stage 1: the peer proves its candidate within a round trip, and a newer stage 1 of ours would make it
 * handshake again (Nebula 1.6.1 takes it at once and drops the tunnel it had). A forged candidate delays us this
 * long at most.
 */
export const CANDIDATE_PROOF_WAIT_MS = 500;
/** A replayed old stage 1 makes us test the tunnel it names at most this often. */
export const STALE_STAGE1_TEST_INTERVAL_MS = 1000;
/**
 * An unanswered handshake that had addresses to try asks the lighthouses again on every this-many attempts (with
 * Nebula's timing at 0.1 s, 0.6 s, 1.5 s, ...): at most one query per lighthouse every two attempts.
 */
export const REQUERY_EVERY_ATTEMPTS = 2;
/** Handshake log lines that outsiders can trigger: at most this many per window. */
const REMOTE_LOG_LIMIT = { burst: 10, windowMs: 10_000 } as const;

export class HandshakeManager {
  readonly pending = new Map<VpnIp, PendingHandshake>();
  private readonly pendingByIndex = new Map<number, PendingHandshake>();
  /** Responder: the ephemeral key of each answered stage 1, for recognising retransmits cheaply. */
  private readonly answered = new Map<string, HostInfo>();
  /** A candidate answered while our own handshake to its peer was pending: that handshake, which it supersedes. */
  private readonly racedBy = new WeakMap<HostInfo, PendingHandshake>();
  private lastTimeNs = 0;
  /** Set by stop(): a promotion's deferred line and version check (promote) do nothing after it. */
  private stopped = false;
  /** Lines that anyone able to send us a datagram can trigger. */
  private readonly remoteLog: RateLimitedLog;

  /** The test requests of candidates whose peer has not used them yet (candidate-test-requests.ts). */
  private readonly candidateTests: CandidateTestRequests;
  /** Whether a stage 2 we answered is flushed at once or shares the next flush (stage2-flush.ts). */
  private readonly stage2Flush: Stage2Flush;
  /** Our next stage 1's or stage 2's ephemeral key, made ahead (ephemeral-keys.ts). */
  readonly ephemeralKeys: EphemeralKeys;

  constructor(private readonly env: HandshakeEnv) {
    this.remoteLog = new RateLimitedLog(env.log, env.clock, REMOTE_LOG_LIMIT);
    this.stage2Flush = new Stage2Flush(env.clock);
    this.ephemeralKeys = new EphemeralKeys(env.clock);
    this.candidateTests = new CandidateTestRequests({
      clock: env.clock,
      isCandidate: (host) => env.hostmap.isCandidate(host),
      sendTestRequest: (host) => env.sendTestRequest(host),
      flushSends: () => env.flushSends?.(),
      // The only failure expected is a socket closed by a stopping node.
      sendFailed: (e) => env.log.debug('Delayed candidate test request failed', { error: e.message }),
    });
  }

  /** Unix nanoseconds, strictly increasing: a restarted or repeated handshake must carry a larger Time. */
  private nowNs(): number {
    const t = Math.max(unixMs(this.env.clock) * 1e6, this.lastTimeNs + 1024);
    this.lastTimeNs = t;
    return t;
  }

  /**
   * Starts (or joins) a handshake to `vpnIp`, queueing `packet` to send when it completes. `certVersion` overrides
   * pki.initiating_version for this handshake (a version correction, version-rules.ts).
   */
  start(
    vpnIp: VpnIp,
    packet?: Uint8Array,
    replacing?: HostInfo,
    certVersion?: CertVersion,
  ): PendingHandshake | undefined {
    if (this.env.identity().vpnAddrs.includes(vpnIp)) {
      this.drop('handshake-to-self');
      return undefined;
    }
    let p = this.pending.get(vpnIp);
    if (!p) {
      const env = this.env;
      const wait = this.candidateProofWait(vpnIp);
      // We wait for a fresh candidate's proof: ask for it now rather than when its test request falls due.
      if (wait > 0) for (const c of env.hostmap.candidatesFor(vpnIp)) this.candidateTests.sendNow(c);
      // A peer we know no address of (or only one) waits for the lighthouses' answer: ask before building stage 1
      // (a key pair and two DHs, ~1 ms in a process that has run them once), so that work overlaps the round trip.
      const askedFirst = wait === 0 && this.stage1Targets(vpnIp, replacing ?? null).length <= 1;
      if (askedFirst) {
        env.queryLighthouse(vpnIp);
        env.flushSends?.();
      }
      const id = env.identity();
      const localIndex = env.hostmap.allocateIndex();
      env.hostmap.reservedIndexes.add(localIndex);
      const initiator = new IxInitiator({
        cipher: env.cipher,
        staticKey: staticKeyOf(id),
        ephemeralKeys: this.ephemeralKeys,
      });
      const cred = credentialFor(id, certVersion ?? id.initiatingVersion);
      const payload = encodeHandshakePayload({
        cert: cred.bytes,
        initiatorIndex: localIndex,
        responderIndex: 0,
        time: BigInt(Math.round(this.nowNs())),
        certVersion: payloadVersionField(cred),
      });
      const msg = initiator.writeMessage1(payload);
      const out = new Uint8Array(HEADER_LEN + msg.length);
      encodeHeader(out, 0, MessageType.Handshake, HandshakeSubType.IXPSK0, 0, 1);
      out.set(msg, HEADER_LEN);
      p = new PendingHandshake(vpnIp, localIndex, initiator, out, env.clock.now());
      p.credential = cred;
      p.replacing = replacing ?? null;
      this.pending.set(vpnIp, p);
      this.pendingByIndex.set(localIndex, p);
      env.counters.inc('handshakes', 'started');
      env.log.debug('Handshake started', { vpnIp: formatVpnIp(vpnIp), localIndex });
      if (wait > 0) p.nextAttemptAt = env.clock.now() + wait;
      else {
        this.attempt(p, askedFirst);
        env.flushSends?.();
      }
      env.handshakePending?.();
    }
    if (packet && !p.enqueue(packet)) this.env.counters.inc('drops', 'pending-queue-full');
    return p;
  }

  /**
   * A handshake that replaces `host` when it completes (its peer sent a recv_error, so it may have restarted);
   * `host` stays in service meanwhile. Nothing if a handshake to the peer is already pending.
   */
  replace(host: HostInfo, certVersion?: CertVersion): void {
    if (this.pending.has(host.vpnIp)) return;
    const p = this.start(host.vpnIp, undefined, host, certVersion);
    if (p) this.env.counters.inc('handshakes', 'replacement-started');
  }

  /**
   * As `replace`, but an authenticated packet on `host` before the new handshake completes (the peer still has the
   * tunnel, e.g. it only moved) abandons the handshake, as after a recv_error (see datapath/outside.ts accept).
   */
  replaceUnlessAnswered(host: HostInfo): void {
    host.recvErrors = 1;
    this.replace(host);
  }

  /** An authenticated packet came on `host` after a recv_error: the peer still has it, so no replacement. */
  tunnelAnswered(host: HostInfo): void {
    const p = this.pending.get(host.vpnIp);
    if (p?.replacing !== host) return;
    this.abandon(p);
    this.env.counters.inc('handshakes', 'replacement-abandoned');
  }

  /**
   * New addresses for a pending target (a lighthouse answered). Those with no NAT of the peer's in the way (our own
   * LAN, the peer's own addresses behind our shared NAT, its global IPv6 addresses) get stage 1 at once; the rest
   * are punched with a low TTL now, and stage 1 follows once the far side has had time to punch toward us (the
   * lighthouse told it to at the same moment). All go out in parallel: the first stage 2 back wins, and a later one
   * is refused without harm (handleStage2 reads each on a fork).
   */
  trigger(vpnIp: VpnIp): void {
    const p = this.pending.get(vpnIp);
    if (!p) return;
    const fresh = this.env.candidates(vpnIp).filter((a) => !p.tried.has(addrKey(a)) && !p.blocked.has(addrKey(a)));
    if (fresh.length === 0) return;
    const { direct, punched } = this.env.splitByPunch(vpnIp, fresh);
    for (const a of direct) {
      p.tried.add(addrKey(a));
      this.env.send(p.packet, a);
    }
    if (direct.length > 0) this.env.counters.inc('handshakes', 'stage1-unpunched');
    for (const a of punched) {
      p.tried.add(addrKey(a));
      this.env.openMapping(a);
    }
    this.env.flushSends?.();
    if (punched.length > 0) this.attemptAfter(p, this.env.punchSettleMs);
  }

  /**
   * The next attempt of `p` goes `ms` from now, on a timer of its own: the retransmit ticker is coarser (up to
   * 25 ms), and a stage 1 that waits for a punch to settle must leave the moment it has.
   */
  private attemptAfter(p: PendingHandshake, ms: number): void {
    const at = this.env.clock.now() + ms;
    p.nextAttemptAt = at;
    after(this.env.clock, ms, () => {
      // Nothing to do when the handshake ended, or another attempt (or a newer schedule) came first.
      if (this.pending.get(p.vpnIp) !== p || p.nextAttemptAt !== at) return;
      try {
        this.attempt(p);
        this.env.flushSends?.();
      } catch (e) {
        // A timer's throw would end the process; the only one expected is a socket closed by a stopping node.
        this.env.log.debug('Scheduled handshake attempt failed', {
          vpnIp: formatVpnIp(p.vpnIp),
          error: (e as Error).message,
        });
      }
    });
  }

  /** A relay to the target is ready: send stage 1 now. */
  sendNow(vpnIp: VpnIp): void {
    const p = this.pending.get(vpnIp);
    if (p) this.sendStage1(p);
  }

  /** The node stops: candidates' delayed test requests are dropped with their timer, the key made ahead with its. */
  stop(): void {
    this.stopped = true;
    this.candidateTests.stop();
    this.ephemeralKeys.stop();
  }

  /** Retransmits and timeouts of pending handshakes; only needed while `pending` is not empty. */
  tick(): void {
    const now = this.env.clock.now();
    for (const p of [...this.pending.values()]) {
      if (now < p.nextAttemptAt) continue;
      if (p.attempts > this.env.retries) {
        this.abandon(p);
        this.env.counters.inc('handshakes', 'timeout');
        this.env.log.info('Handshake timed out', {
          vpnIp: formatVpnIp(p.vpnIp),
          attempts: p.attempts,
          queued: p.queue.length,
        });
        this.env.handshakeFailed?.(p.vpnIp);
        continue;
      }
      this.attempt(p);
    }
  }

  /** `asked`: the lighthouses were asked about the peer just now (start), so this attempt does not ask again. */
  private attempt(p: PendingHandshake, asked = false): void {
    p.attempts++;
    p.nextAttemptAt = this.env.clock.now() + this.env.tryIntervalMs * p.attempts;
    const sent = this.sendStage1(p);
    // Addresses we know may all be dead (a NAT forgot the peer's mapping, the peer moved): an unanswered handshake
    // asks the lighthouses again every REQUERY_EVERY_ATTEMPTS attempts, and their fresh answer replaces the old one.
    if (!asked && (sent <= 1 || p.attempts % REQUERY_EVERY_ATTEMPTS === 0)) this.env.queryLighthouse(p.vpnIp);
  }

  /** Where stage 1 goes: every known address of the peer that no wrong host answered from. */
  private stage1Targets(vpnIp: VpnIp, replacing: HostInfo | null, blocked?: ReadonlySet<string>): UdpAddr[] {
    const candidates = this.env.candidates(vpnIp);
    // The tunnel being replaced knows where the peer sent its recv_error from, which may be no candidate (a NAT).
    const remote = replacing?.remote;
    if (remote && !candidates.some((a) => sameAddr(a, remote))) candidates.unshift(remote);
    return blocked ? candidates.filter((a) => !blocked.has(addrKey(a))) : candidates;
  }

  private sendStage1(p: PendingHandshake): number {
    const targets = this.stage1Targets(p.vpnIp, p.replacing, p.blocked);
    for (const addr of targets) {
      p.tried.add(addrKey(addr));
      this.env.send(p.packet, addr);
    }
    this.env.sendViaRelays?.(p.vpnIp, p.packet);
    return targets.length;
  }

  private abandon(p: PendingHandshake): void {
    this.pending.delete(p.vpnIp);
    this.pendingByIndex.delete(p.localIndex);
    this.env.hostmap.reservedIndexes.delete(p.localIndex);
  }

  /** Stage 1 (we are the responder). `packet` includes the 16-byte header. */
  handleStage1(packet: Uint8Array, src: PacketSource): void {
    const env = this.env;
    if (packet.length < HEADER_LEN + 64) return this.drop('handshake-short');
    const msg = packet.subarray(HEADER_LEN);
    const ephemeral = answeredKey(msg);
    const known = this.answered.get(ephemeral);
    if (
      known &&
      env.hostmap.byIndex.get(known.localIndex) === known &&
      known.stage1 &&
      Buffer.from(known.stage1).equals(msg)
    ) {
      // A real retransmit comes the way the first copy came. A copy from elsewhere is a replay, and answering it
      // would reflect our (larger) stage 2 at an address of the replayer's choosing (docs/security-model.md).
      if (!cameFrom(known, src)) return this.drop('handshake-retransmit-other-source');
      env.counters.inc('handshakes', 'retransmit-answered');
      if (known.stage2Packet) src.reply(known.stage2Packet);
      return;
    }
    const id = env.identity();
    const responder = new IxResponder({
      cipher: env.cipher,
      staticKey: staticKeyOf(id),
      ephemeralKeys: this.ephemeralKeys,
    });
    let peer: VerifiedPeer;
    let initiatorIndex: number;
    let time: number;
    try {
      const { payload, remoteStatic } = responder.readMessage1(msg);
      const details = decodeHandshakePayload(payload);
      peer = verifyPeerCert(details.cert, remoteStatic, env.caPool(), certTime(env.clock), knownCertVersion(details));
      initiatorIndex = details.initiatorIndex;
      time = Number(details.time);
    } catch (e) {
      this.remoteLog.info('Invalid handshake stage 1', {
        udpAddr: src.from ? addrKey(src.from) : 'relay',
        error: (e as Error).message,
      });
      return this.drop('handshake-invalid');
    }
    const addrs = this.usableAddrs(peer, src, 1);
    if (addrs === null) return;
    const vpnIp = addrs[0];
    // Nebula applies lighthouse.remote_allow_list to all of the peer's addresses (AllowAll).
    const from = src.from;
    if (from && !addrs.every((a) => env.remoteAllowed(a, from))) return this.drop('handshake-remote-denied');
    const existing = env.hostmap.get(vpnIp);
    // Only a proven tunnel's Time counts: an unproven one may come from a forged stage 1, whose Time must not
    // shut the real peer out.
    if (existing?.proven && time <= existing.handshakeTime) {
      this.remoteLog.info('Handshake too old', { vpnIp: formatVpnIp(vpnIp), certName: peer.cert.details.name });
      // Anyone can replay an old stage 1: one test request a second per tunnel is enough to prove it alive.
      const now = env.clock.now();
      if (now - existing.staleStage1TestAt >= STALE_STAGE1_TEST_INTERVAL_MS) {
        existing.staleStage1TestAt = now;
        env.sendTestRequest(existing);
      }
      return this.drop('handshake-too-old');
    }
    const ours = this.pendingFor(addrs);
    if (ours && compareVpnIp(vpnIp, id.vpnIp) < 0) {
      env.log.debug('Prevented a pending handshake race', { vpnIp: formatVpnIp(vpnIp) });
      return this.drop('handshake-race');
    }
    // Anyone who saw the peer's certificate can send this stage 1, so the answer is only a candidate, and the
    // peer's first packet on it promotes it (peerHasStage2); until then a tunnel and our own handshake with its
    // queue go on as they were, and without a tunnel our sends start a handshake of our own.
    const slot = chooseCandidateSlot(
      env.hostmap.candidatesFor(vpnIp),
      this.candidateSource(vpnIp, src.from, src.via ?? null, existing),
      (c) => this.candidateSource(vpnIp, c.remote, c.relayVia, existing),
      env.clock.now(),
    );
    if (slot === 'held') return this.drop('handshake-candidate-held');
    if (slot) {
      env.hostmap.remove(slot);
      this.candidateTests.cancel(slot);
      this.drop('handshake-candidate-replaced');
    }
    const localIndex = env.hostmap.allocateIndex();
    // The version the initiator used when we hold it, else our initiating version's (Nebula 1.10): a peer that
    // could do better corrects it with a handshake of its own (version-rules.ts).
    const cred = id.credentials[peer.version] ?? credentialFor(id, id.initiatingVersion);
    const reply = encodeHandshakePayload({
      cert: cred.bytes,
      initiatorIndex,
      responderIndex: localIndex,
      time: BigInt(Math.round(this.nowNs())),
      certVersion: payloadVersionField(cred),
    });
    const { message, keys } = responder.writeMessage2(reply);
    const out = new Uint8Array(HEADER_LEN + message.length);
    encodeHeader(out, 0, MessageType.Handshake, HandshakeSubType.IXPSK0, initiatorIndex, 2);
    out.set(message, HEADER_LEN);
    this.complete({
      localIndex,
      remoteIndex: initiatorIndex,
      peer,
      vpnAddrs: addrs,
      keys,
      time,
      src,
      initiator: false,
      queued: [],
      credential: cred,
      answered: { ephemeral, stage1: Uint8Array.from(msg), stage2: out },
      racing: ours,
    });
  }

  /** Stage 2 (we are the initiator). */
  handleStage2(packet: Uint8Array, remoteIndex: number, src: PacketSource): void {
    const env = this.env;
    const p = this.pendingByIndex.get(remoteIndex);
    if (!p)
      return this.drop(env.hostmap.byIndex.has(remoteIndex) ? 'handshake-already-complete' : 'handshake-unknown-index');
    let peer: VerifiedPeer;
    let keys: TunnelKeys;
    let responderIndex: number;
    let time: number;
    try {
      // Read on a fork: stage 1 went to every candidate address, so another host may answer first, and its reply
      // (refused below for its certificate or its overlay IP) must leave the state for the real peer's reply.
      const r = p.initiator.fork().readMessage2(packet.subarray(HEADER_LEN));
      keys = r.keys;
      const details = decodeHandshakePayload(r.payload);
      responderIndex = details.responderIndex;
      time = Number(details.time);
      peer = verifyPeerCert(details.cert, r.remoteStatic, env.caPool(), certTime(env.clock), knownCertVersion(details));
    } catch (e) {
      // A forged stage 2 must not end a handshake that the real peer may still answer.
      this.remoteLog.info('Invalid handshake stage 2', { vpnIp: formatVpnIp(p.vpnIp), error: (e as Error).message });
      return this.drop('handshake-invalid');
    }
    // The address we meant to reach must be one of the certificate's (Nebula's correctHostResponded); any of them,
    // so a handshake started toward a dual-stack peer's second address finds it.
    if (!peer.certAddrs.includes(p.vpnIp)) {
      this.remoteLog.info('Incorrect host responded to handshake', {
        intendedVpnIp: formatVpnIp(p.vpnIp),
        haveVpnIp: peer.certAddrs.map(formatVpnIp).join(','),
      });
      if (src.from) {
        p.blocked.add(addrKey(src.from));
        env.sendClose(keys, responderIndex, src.from);
      }
      return this.drop('handshake-wrong-host');
    }
    const addrs = this.usableAddrs(peer, src, 2);
    if (addrs === null) {
      // The right host claiming one of our addresses (Nebula 1.11 ends the handshake too).
      this.abandon(p);
      return;
    }
    this.abandon(p);
    this.complete({
      localIndex: p.localIndex,
      remoteIndex: responderIndex,
      peer,
      vpnAddrs: addrs,
      keys,
      time,
      src,
      initiator: true,
      queued: p.queue,
      credential: p.credential ?? credentialFor(env.identity(), env.identity().initiatingVersion),
      logFields: { attempts: p.attempts, durationMs: Math.round(env.clock.now() - p.startedAt) },
    });
  }

  /**
   * Initiator: installs the finished handshake as the tunnel (replacing any older one to the peer, and ending its
   * candidates) and flushes what waited. Responder: holds it as a candidate until the peer proves it (promote).
   */
  private complete(t: {
    localIndex: number;
    remoteIndex: number;
    peer: VerifiedPeer;
    /** The peer's addresses (usablePeerAddrs: the certificate's); the first is the tunnel's primary. */
    vpnAddrs: readonly VpnIp[];
    keys: TunnelKeys;
    time: number;
    src: PacketSource;
    initiator: boolean;
    queued: Uint8Array[];
    /** The certificate we presented. */
    credential: HandshakeCredential;
    /** Responder: what a retransmitted stage 1 must get back. */
    answered?: { ephemeral: string; stage1: Uint8Array; stage2: Uint8Array };
    /** Responder: our own handshake to the peer that was pending when its stage 1 came. */
    racing?: PendingHandshake;
    logFields?: LogFields;
  }): void {
    const env = this.env;
    const host = new HostInfo({
      localIndex: t.localIndex,
      remoteIndex: t.remoteIndex,
      vpnIp: t.vpnAddrs[0],
      vpnAddrs: t.vpnAddrs,
      cert: t.peer.stored,
      peer: t.peer.firewallPeer,
      keys: t.keys,
      handshakeTime: Math.min(t.time, (unixMs(env.clock) + HANDSHAKE_TIME_SKEW_MS) * 1e6),
      remote: t.src.from,
      initiator: t.initiator,
      now: env.clock.now(),
      certValidUntil: t.peer.validUntil,
      certVersion: t.peer.version,
      localCertVersion: t.credential.version,
      localCertSignature: t.credential.signature,
    });
    host.relayVia = t.src.via ?? null;
    if (t.answered) {
      host.stage1 = t.answered.stage1;
      host.stage2Packet = t.answered.stage2;
      this.remember(t.answered.ephemeral, host);
      if (env.hostmap.addCandidate(host)) this.drop('handshake-candidates-full');
      if (t.racing) this.racedBy.set(host, t.racing);
      t.src.reply(t.answered.stage2);
      // Stage 2 leaves before whatever else this turn handles, unless one left within the last few ms: then it
      // goes with the next one or at the end of the turn (stage2-flush.ts).
      if (this.stage2Flush.due()) env.flushSends?.();
      env.counters.inc('handshakes', 'candidate');
      env.log.debug('Handshake answered, new tunnel held until the peer uses it', {
        vpnIp: formatVpnIp(host.vpnIp),
        udpAddr: t.src.from ? addrKey(t.src.from) : 'relay',
        localIndex: t.localIndex,
      });
      // The real peer's first packet promotes the candidate; one with nothing to send gets a test request after
      // CANDIDATE_TEST_DELAY_MS, which it answers and whoever forged or replayed the stage 1 cannot. 32 bytes, at
      // most once per CANDIDATE_HOLD_MS, source and overlay IP. Our own handshake to the peer, whose queue the
      // promotion hands over, asks for the proof at once (a peer that won the race may have nothing to send).
      if (t.racing) env.sendTestRequest(host);
      else this.candidateTests.schedule(host);
      return;
    }
    // Our handshakes toward the peer's other addresses (a dual-stack peer asked by both at once) would each make a
    // tunnel replacing this one: they end here and what they queued goes on this tunnel.
    const queued = [...t.queued, ...this.endPendingFor(host)];
    const replaced = env.hostmap.add(host);
    env.counters.inc('handshakes', 'ok');
    env.established(host, queued, replaced);
    // What waited for the tunnel goes now, not after the rest of the turn, nor after the log line below (its
    // formatting and write are ~0.1 ms in a first contact, on the path of the packet that started it).
    env.flushSends?.();
    env.log.info(`Handshake completed (${t.initiator ? 'initiator' : 'responder'})`, {
      vpnIp: formatVpnIp(host.vpnIp),
      vpnAddrs: host.vpnAddrs.length > 1 ? host.vpnAddrs.map(formatVpnIp).join(',') : undefined,
      certName: t.peer.cert.details.name,
      certVersion: t.peer.version,
      fingerprint: t.peer.fingerprint,
      udpAddr: t.src.from ? addrKey(t.src.from) : 'relay',
      localIndex: t.localIndex,
      remoteIndex: t.remoteIndex,
      ...t.logFields,
    });
    this.checkVersions(host);
  }

  /**
   * Starts a handshake that replaces `host` when the certificates it was made with call for one (a version
   * correction or upgrade, a certificate a reload replaced: version-rules.ts). The daemon calls it after a reload.
   */
  checkVersions(host: HostInfo): void {
    const env = this.env;
    if (env.hostmap.byVpnIp.get(host.vpnIp) !== host || this.pending.has(host.vpnIp)) return;
    const r = versionRehandshake(host, env.identity());
    if (!r) return;
    env.counters.inc('handshakes', 'cert-version-rehandshake');
    env.log.info('Re-handshaking with remote', {
      vpnIp: formatVpnIp(host.vpnIp),
      reason: r.reason,
      certVersion: host.localCertVersion,
      peerCertVersion: host.certVersion,
      startVersion: r.certVersion ?? env.identity().initiatingVersion,
    });
    this.replace(host, r.certVersion);
  }

  private remember(ephemeral: string, host: HostInfo): void {
    // Bounded: retransmits only matter for a few seconds, so the oldest entries can go.
    if (this.answered.size >= 4096) {
      const oldest = this.answered.keys().next().value;
      if (oldest !== undefined) this.answered.delete(oldest);
    }
    this.answered.set(ephemeral, host);
  }

  /**
   * The initiator sent us an authenticated packet, so it has our stage 2 and needs no answer to a retransmit: the
   * copies go now instead of after RETRANSMIT_MEMORY_MS (they are most of an idle tunnel's memory until then). A
   * stage 1 still in flight then meets "Handshake too old", which answers it with a test request.
   */
  peerHasStage2(host: HostInfo): void {
    const stage1 = host.stage1;
    host.stage1 = undefined;
    host.stage2Packet = undefined;
    // A candidate keeps its stage-2 copy until it is promoted or expires, so its first packet always lands here.
    if (this.env.hostmap.isCandidate(host)) this.promote(host);
    if (stage1 === undefined) return;
    const ephemeral = answeredKey(stage1);
    if (this.answered.get(ephemeral) === host) this.answered.delete(ephemeral);
  }

  /**
   * Stage-1/stage-2 copies outlive any retransmit after RETRANSMIT_MEMORY_MS; a tunnel need not keep them. A
   * candidate nobody used in that time goes too.
   */
  forgetOldAnswers(now: number = this.env.clock.now()): void {
    const hostmap = this.env.hostmap;
    // Both maps are in age order, so the first young entry ends each scan.
    for (const host of hostmap.candidates.values()) {
      if (now - host.createdAt < RETRANSMIT_MEMORY_MS) break;
      hostmap.remove(host);
      this.drop('handshake-candidate-expired');
    }
    for (const [ephemeral, host] of this.answered) {
      if (now - host.createdAt < RETRANSMIT_MEMORY_MS) break;
      this.answered.delete(ephemeral);
      host.stage1 = undefined;
      host.stage2Packet = undefined;
    }
  }

  /**
   * A candidate carried an authenticated packet, which only the holder of the certificate's key can make: it
   * becomes the peer's tunnel in place of any other, and takes over our own handshake's queue where that handshake
   * gives way (below).
   */
  private promote(host: HostInfo): void {
    const env = this.env;
    let queued: Uint8Array[] = [];
    const ours = this.pendingFor(host.vpnAddrs);
    // Our own handshake gives way only where the peer cannot have taken it: it was pending when the peer's stage 1
    // came (the peer, initiating too, drops ours as a race or finds its Time too old), or it has sent nothing yet
    // (start() waits for a fresh candidate's proof). A stage 1 of ours sent later may already have replaced the
    // peer's side of this tunnel (Nebula 1.6.1 takes a newer handshake at once), so its answer replaces this one.
    if (ours && (this.racedBy.get(host) === ours || (ours.attempts === 0 && ours.tried.size === 0))) {
      queued = ours.queue.splice(0);
      this.abandon(ours);
    }
    this.candidateTests.cancel(host);
    const replaced = env.hostmap.promote(host);
    env.counters.inc('handshakes', 'ok');
    env.counters.inc('handshakes', 'promoted');
    env.established(host, queued, replaced);
    // The line and the version check wait PROMOTED_AFTERMATH_MS: the promoting packet is usually a first contact's
    // first, still being delivered, and its answer (an echo reply or SYN-ACK the kernel makes while we write the
    // packet to the TUN) is read and sent first. Formatting and writing the line were ~0.1 ms of that round trip
    // (docs/state-machines.md, "Responder and candidate tunnels").
    const remote = host.remote;
    const replacedLocalIndex = replaced?.localIndex ?? 'none';
    after(env.clock, PROMOTED_AFTERMATH_MS, () => {
      if (this.stopped) return;
      env.log.info('Handshake completed (responder)', {
        vpnIp: formatVpnIp(host.vpnIp),
        vpnAddrs: host.vpnAddrs.length > 1 ? host.vpnAddrs.map(formatVpnIp).join(',') : undefined,
        certName: host.certName,
        certVersion: host.certVersion,
        udpAddr: remote ? addrKey(remote) : 'relay',
        localIndex: host.localIndex,
        remoteIndex: host.remoteIndex,
        replacedLocalIndex,
      });
      this.checkVersions(host);
    });
  }

  /**
   * Where a stage 1 for `vpnIp` came from (a UDP address, or a relay), and whether we expected the peer there: the
   * tunnel's address, a static or lighthouse-learned one, or a relay whose entry names the peer (the relay learned
   * that from the peer's own authenticated tunnel).
   */
  private candidateSource(
    vpnIp: VpnIp,
    from: UdpAddr | null,
    via: RelayEntry | null,
    tunnel: HostInfo | undefined,
  ): CandidateSource {
    if (!from) return { key: `relay ${via?.localIndex ?? 0}`, expected: via?.peerIp === vpnIp };
    const expected = sameAddr(from, tunnel?.remote) || this.env.candidates(vpnIp).some((a) => sameAddr(a, from));
    return { key: addrKey(from), expected };
  }

  /** How long a handshake to `vpnIp` starting now waits for the proof of the youngest candidate (CANDIDATE_PROOF_WAIT_MS). */
  private candidateProofWait(vpnIp: VpnIp): number {
    const candidates = this.env.hostmap.candidatesFor(vpnIp);
    if (candidates.length === 0) return 0;
    const youngest = Math.max(...candidates.map((c) => c.createdAt));
    return Math.max(0, youngest + CANDIDATE_PROOF_WAIT_MS - this.env.clock.now());
  }

  /** Ends our pending handshakes toward any of `host`'s addresses and returns what they queued, in order. */
  private endPendingFor(host: HostInfo): Uint8Array[] {
    const queued: Uint8Array[] = [];
    for (const addr of host.vpnAddrs) {
      const p = this.pending.get(addr);
      if (!p) continue;
      queued.push(...p.queue.splice(0));
      this.abandon(p);
      this.env.counters.inc('handshakes', 'joined');
    }
    return queued;
  }

  /** Our pending handshake toward any of a peer's addresses (the first found, in the peer's address order). */
  private pendingFor(addrs: readonly VpnIp[]): PendingHandshake | undefined {
    for (const a of addrs) {
      const p = this.pending.get(a);
      if (p) return p;
    }
    return undefined;
  }

  /**
   * The peer's addresses (peer-addrs.ts), or null when its certificate claims one of ours: dropped and logged
   * (rate-limited, since anyone holding a certificate of the CA can try). A peer with no address inside our networks
   * is accepted, as Nebula does, with a rate-limited line and a count.
   */
  private usableAddrs(peer: VerifiedPeer, src: PacketSource, stage: 1 | 2): readonly VpnIp[] | null {
    const verdict = usablePeerAddrs(peer.certAddrs, this.env.identity());
    const fields = {
      vpnAddrs: peer.certAddrs.map(formatVpnIp).join(','),
      certName: peer.cert.details.name,
      udpAddr: src.from ? addrKey(src.from) : 'relay',
      stage,
    };
    if (!verdict.ok) {
      this.remoteLog.info('Refusing to handshake with myself', fields);
      this.drop('handshake-self');
      return null;
    }
    if (!verdict.inCommon) {
      this.remoteLog.info('Handshake message received, but no vpnNetworks in common.', fields);
      this.env.counters.inc('handshakes', 'no-networks-in-common');
    }
    return verdict.vpnAddrs;
  }

  private drop(reason: string): void {
    this.env.counters.inc('drops', reason);
  }
}

/** Whether a stage 1 came the way the one `host` answered came: the same UDP address, or the same relay. */
function cameFrom(host: HostInfo, src: PacketSource): boolean {
  return src.from ? sameAddr(src.from, host.remote) : src.via !== undefined && src.via === host.relayVia;
}

/** Answered stage 1s are known by the initiator's ephemeral key, the first 32 bytes of the Noise message. */
function answeredKey(stage1Message: Uint8Array): string {
  return Buffer.from(stage1Message.subarray(0, 32)).toString('hex');
}

/**
 * The payload's CertVersion for a credential: 2 for v2; absent for v1, so a v1 payload is byte for byte Nebula
 * 1.6's (1.10 writes 1, which every reader takes as absent: docs/certificates-v2.md, "Handshakes").
 */
function payloadVersionField(cred: HandshakeCredential): number | undefined {
  return cred.version === 2 ? 2 : undefined;
}

/** The certificate version a payload names; an unknown one is refused as Nebula refuses it. */
function knownCertVersion(details: HandshakeDetails): CertVersion {
  const v = payloadCertVersion(details);
  if (v === null) throw new Error(`unknown certificate version ${details.certVersion}`);
  return v;
}
