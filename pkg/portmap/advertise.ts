// Whether a port mapping is worth telling the lighthouses about. A router behind a carrier NAT happily maps an
// address nobody outside can reach, and address ranges cannot tell (a "public" range may be private to a provider,
// and the test lab's public addresses are documentation ranges): the mapping counts only when its external IP is
// the IP the lighthouses see our packets come from (docs/portmap.md).

import type { PortMapping } from './types.js';

export type AdvertiseVerdict = { advertise: true } | { advertise: false; why: string };

/** @param seenIp the IP a lighthouse saw us at (its answer about ourselves), undefined before any answered */
export function judgeMapping(m: PortMapping, seenIp: string | undefined): AdvertiseVerdict {
  if (seenIp === undefined) return { advertise: false, why: 'no lighthouse has said where it sees us yet' };
  if (m.externalIp !== seenIp) {
    return {
      advertise: false,
      why: `external ip ${m.externalIp} is not where the lighthouses see us (${seenIp}): another NAT is in front`,
    };
  }
  return { advertise: true };
}
