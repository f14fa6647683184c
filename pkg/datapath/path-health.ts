// Notices a dead path: a tunnel whose outbound traffic gets no authenticated answer. Liveness (liveness.ts) is the
// slow last resort that removes a tunnel after seconds of silence; this acts within about an RTT-derived timeout.
//
//   idle ──answerable send──▶ waiting ──timeout, nothing authenticated back──▶ probing (one test request)
//     ▲                          │                                               │ timeout, still nothing
//     └──── any authenticated packet since ◀──────────────────────────────────── suspect ──giveUpMs──▶ gave up
//                                                            (a test request every giveUpMs / SUSPECT_PROBES)
//
// Only traffic that should draw an answer starts the clock (TCP, ICMP echo requests, test requests): one-way UDP
// never makes a path suspect. "Answered" is any authenticated packet on the tunnel (host.lastRecvAt), whatever path
// it came by. Each tunnel holds at most one timer, and a probe goes out at most once per timeout (SUSPECT_PROBES
// per GIVE_UP_MS while suspect) while our own traffic stays unanswered: what this sends is bounded by what we send,
// never by what anyone else sends.
// How this fits into a tunnel's life: docs/state-machines.md, "Path health".

import { after, type Clock } from '../clock/clock.js';
import type { HostInfo } from '../hostmap/hostinfo.js';

/** Floor and cap of the unanswered-traffic timeout (4 x smoothed RTT in between). */
export const MIN_UNANSWERED_MS = 250;
export const MAX_UNANSWERED_MS = 700;
/** The timeout before any RTT was measured: two of them (wait, then probe) stay under a second. */
export const DEFAULT_UNANSWERED_MS = 400;
/** After a path became suspect (failed over, fresh addresses asked for): how long before a new handshake. */
export const GIVE_UP_MS = 1000;
/**
 * Test requests while suspect (the one the suspect step sends included), evenly over GIVE_UP_MS. A path losing a
 * fifth of the packets each way loses a round trip about a third of the time: one unanswered probe says little, so
 * giving up takes every one of these unanswered too (docs/state-machines.md, "Path health").
 */
export const SUSPECT_PROBES = 4;

export interface PathHealthEnv {
  clock: Clock;
  /** Whether `host` is still the tunnel in the hostmap (a replaced or closed one is forgotten). */
  isCurrent(host: HostInfo): boolean;
  /** Send one authenticated test request on the tunnel's current path. */
  probe(host: HostInfo): void;
  /** Outbound traffic and the probe went unanswered: move to another path and look for fresh addresses. */
  suspect(host: HostInfo): void;
  /** Still nothing authenticated GIVE_UP_MS after `suspect`: the peer lost the tunnel (restarted, moved). */
  giveUp(host: HostInfo): void;
}

type Phase = 'idle' | 'waiting' | 'probing' | 'suspect';

interface PathState {
  phase: Phase;
  /** The first answerable send since the last authenticated packet (null: none outstanding). */
  since: number | null;
  /** When the current phase began (probe sent, suspected). */
  phaseAt: number;
  /** Test requests sent since the path became suspect. */
  suspectProbes: number;
  /** Smoothed RTT (ms), undefined until measured. */
  srtt: number | undefined;
  /** When the oldest test request still unanswered went out (null: none), for an RTT sample from its reply. */
  testAt: number | null;
  cancel: (() => void) | null;
}

export class PathHealth {
  private readonly states = new WeakMap<HostInfo, PathState>();

  constructor(private readonly env: PathHealthEnv) {}

  /** The unanswered-traffic timeout for `host`: 4 x smoothed RTT, within [MIN, MAX]. */
  timeoutFor(host: HostInfo): number {
    const srtt = this.states.get(host)?.srtt;
    if (srtt === undefined) return DEFAULT_UNANSWERED_MS;
    return Math.min(MAX_UNANSWERED_MS, Math.max(MIN_UNANSWERED_MS, 4 * srtt));
  }

  phaseOf(host: HostInfo): Phase {
    return this.states.get(host)?.phase ?? 'idle';
  }

  /** An RTT sample (test request/reply, handshake): smoothed as TCP does (1/8 of each new sample). */
  rtt(host: HostInfo, ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    const st = this.stateOf(host);
    st.srtt = st.srtt === undefined ? ms : st.srtt + (ms - st.srtt) / 8;
  }

  /** A test reply came on `host`: the time since the oldest outstanding test request is an RTT sample. */
  testReply(host: HostInfo): void {
    const st = this.states.get(host);
    if (!st || st.testAt === null) return;
    const sample = this.env.clock.now() - st.testAt;
    // An older request may have been lost and this the reply to a later one: too long to be a sample worth taking.
    if (sample <= 2 * MAX_UNANSWERED_MS) this.rtt(host, sample);
    st.testAt = null;
  }

  /**
   * We sent something on the tunnel's own path that the peer should answer (`test`: a test request). Called per
   * packet: keep it cheap. Returns the clock's time, which the caller may reuse.
   */
  sent(host: HostInfo, test = false): number {
    const st = this.stateOf(host);
    const now = this.env.clock.now();
    if (test && (st.testAt === null || now - st.testAt > 2 * MAX_UNANSWERED_MS)) st.testAt = now;
    if (st.since === null) st.since = now;
    else if (host.lastRecvAt >= st.since) {
      // What we sent since `since` was answered. From that first send to the latest packet back is roughly a round
      // trip for request/response traffic (less for a stream, and the floor absorbs that). Longer than the cap, the
      // peer was sending on its own account: no sample.
      const sample = host.lastRecvAt - st.since;
      if (sample <= MAX_UNANSWERED_MS) st.srtt = st.srtt === undefined ? sample : st.srtt + (sample - st.srtt) / 8;
      st.since = now;
    }
    if (st.phase === 'idle') {
      st.phase = 'waiting';
      st.phaseAt = now;
      this.arm(host, st, st.since + this.timeoutFor(host));
    }
    return now;
  }

  /** Our own address changed and lost one: the path is suspect now, no need to wait for silence. */
  suspectNow(host: HostInfo): void {
    const st = this.stateOf(host);
    if (st.phase === 'suspect') return;
    st.since ??= this.env.clock.now();
    this.enterSuspect(host, st);
  }

  forget(host: HostInfo): void {
    const st = this.states.get(host);
    st?.cancel?.();
    this.states.delete(host);
  }

  private stateOf(host: HostInfo): PathState {
    let st = this.states.get(host);
    if (!st) {
      st = { phase: 'idle', since: null, phaseAt: 0, suspectProbes: 0, srtt: undefined, testAt: null, cancel: null };
      this.states.set(host, st);
    }
    return st;
  }

  private arm(host: HostInfo, st: PathState, at: number): void {
    st.cancel?.();
    st.cancel = after(this.env.clock, Math.max(0, at - this.env.clock.now()), () => {
      st.cancel = null;
      this.check(host, st);
    });
  }

  private check(host: HostInfo, st: PathState): void {
    if (!this.env.isCurrent(host)) return this.forget(host);
    const now = this.env.clock.now();
    const answeredSince = (t: number): boolean => host.lastRecvAt >= t;
    if (st.phase === 'waiting') {
      if (st.since === null || answeredSince(st.since)) return this.settle(st);
      const due = st.since + this.timeoutFor(host);
      if (now < due) return this.arm(host, st, due);
      st.phase = 'probing';
      st.phaseAt = now;
      // Armed before the probe goes out, as enterSuspect does: a send that throws must not leave the phase without
      // its timer (nothing else would ever move it on; liveness would take 15 s to remove the tunnel).
      this.arm(host, st, now + this.timeoutFor(host));
      return this.env.probe(host);
    }
    if (st.phase === 'probing') {
      if (answeredSince(st.phaseAt)) {
        // The probe's round trip (or less, when data came back first) is an RTT sample.
        this.rtt(host, host.lastRecvAt - st.phaseAt);
        return this.settle(st);
      }
      return this.enterSuspect(host, st);
    }
    if (st.phase === 'suspect') {
      if (answeredSince(st.phaseAt)) return this.settle(st);
      if (st.suspectProbes < SUSPECT_PROBES) {
        st.suspectProbes++;
        this.arm(host, st, this.nextSuspectCheck(st));
        return this.env.probe(host);
      }
      this.settle(st);
      this.env.giveUp(host);
    }
  }

  private enterSuspect(host: HostInfo, st: PathState): void {
    st.phase = 'suspect';
    st.phaseAt = this.env.clock.now();
    st.suspectProbes = 1; // the suspect step sends a test request itself
    this.arm(host, st, this.nextSuspectCheck(st));
    this.env.suspect(host);
  }

  /** The next probe while suspect, or (all of them sent) the give-up, GIVE_UP_MS after the path became suspect. */
  private nextSuspectCheck(st: PathState): number {
    return st.phaseAt + (GIVE_UP_MS * st.suspectProbes) / SUSPECT_PROBES;
  }

  /** Back to idle; traffic still unanswered after the last authenticated packet starts a new wait at once. */
  private settle(st: PathState): void {
    st.cancel?.();
    st.cancel = null;
    st.phase = 'idle';
    st.phaseAt = 0;
    st.since = null;
  }
}

/**
 * Whether an IPv4 packet we send should draw an answer from the peer: any TCP segment (data or handshake is
 * acknowledged), and ICMP echo requests. UDP may be one-way, so it proves nothing either way.
 */
export function expectsAnswer(packet: Uint8Array): boolean {
  if (packet.length < 20 || packet[0] >> 4 !== 4) return false;
  const proto = packet[9];
  if (proto === 6) return true;
  if (proto !== 1) return false;
  const ihl = (packet[0] & 0x0f) * 4;
  return packet.length > ihl && packet[ihl] === 8;
}
