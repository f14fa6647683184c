// Which stage 1s for one overlay IP get an answer (a candidate tunnel), and which earlier candidate makes room for it
// (docs/security-model.md). Stage 1 is unauthenticated: whoever saw the peer's certificate can send any number of
// them, from its own address or, spoofing, from others. The real peer proves its candidate within a round trip, so
// the rules make sure that no stream of forgeries keeps the real peer's stage 1 from being answered, or pushes its
// candidate out within that round trip:
//
//  - One candidate per source (UDP address, or relay) and overlay IP, and a source's next stage 1 is answered only
//    once its previous candidate has held for CANDIDATE_HOLD_MS. A forger repeating from its own address costs us
//    one answer per interval and never touches the real peer's source.
//  - At most MAX_CANDIDATES_PER_VPN_IP per overlay IP. When they are all held, a stage 1 from an expected source
//    (the tunnel's address, a static or lighthouse address, a relay naming the peer) takes the place of the oldest
//    candidate from an unexpected one, however young: forgeries from any number of other addresses can neither keep
//    out nor push out a peer that comes back where we know it. Otherwise a new source takes the place of the oldest
//    candidate older than CANDIDATE_HOLD_MS (long unproven, so not a live peer's), or is not answered.
//
// So stage 1s for one overlay IP cost us at most MAX_CANDIDATES_PER_VPN_IP answers per CANDIDATE_HOLD_MS, plus one
// per expected source.

import type { HostInfo } from '../hostmap/hostinfo.js';

/**
 * How long a candidate keeps its source's place against the next stage 1 from that source: the real peer proves
 * its candidate within a round trip, and one source costs us at most one answer (three DHs and a stage 2) per this
 * interval and overlay IP.
 */
export const CANDIDATE_HOLD_MS = 1000;
/** Candidates held per overlay IP: the peer's own, and room beside it for forgeries from other sources. */
export const MAX_CANDIDATES_PER_VPN_IP = 4;

/** Where a stage 1 came from, as far as holding candidates is concerned. */
export interface CandidateSource {
  /** The UDP address, or the relay, it came through. */
  key: string;
  /** Whether we expected the peer there (see the file comment). */
  expected: boolean;
}

/**
 * Decides on a new stage 1 from `source`, given the candidates already held for its overlay IP (oldest first):
 * 'held' (drop it), the candidate to remove to make room, or null (answer, nothing to remove).
 */
export function chooseCandidateSlot(
  held: readonly HostInfo[],
  source: CandidateSource,
  sourceOf: (candidate: HostInfo) => CandidateSource,
  now: number,
): HostInfo | null | 'held' {
  const sameSource = held.find((c) => sourceOf(c).key === source.key);
  if (sameSource) return now - sameSource.createdAt < CANDIDATE_HOLD_MS ? 'held' : sameSource;
  if (held.length < MAX_CANDIDATES_PER_VPN_IP) return null;
  const old = (c: HostInfo): boolean => now - c.createdAt >= CANDIDATE_HOLD_MS;
  const victim = held.find((c) => !sourceOf(c).expected && (source.expected || old(c))) ?? held.find(old);
  return victim ?? 'held';
}
