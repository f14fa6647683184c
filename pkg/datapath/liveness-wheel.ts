// The tunnels whose liveness check (liveness.ts) is scheduled, filed by when it is due, so that the periodic check
// visits the due ones instead of every tunnel: a lighthouse's 40k tunnels were walked every second to find the
// ~4k due in it (each check is scheduled by a send and passes or fails once; docs/state-machines.md, "Liveness").
//
// Slots of SLOT_MS by due time (HostInfo.checkAt). A host is filed when its check is scheduled (checkAt set from 0)
// and taken out when its slot comes due; what the check does then (pass: checkAt back to 0, fail: a later checkAt,
// filed again) is the caller's. A host is in the wheel at most once per scheduled check: checkAt is only set when it
// was 0, and only the check itself changes it afterwards.

import type { HostInfo } from '../hostmap/hostinfo.js';

/** The wheel's resolution: the node checks liveness once a second, so finer slots would not be visited sooner. */
export const SLOT_MS = 1000;

export class LivenessWheel {
  /** Slot number (floor(checkAt / SLOT_MS)) -> the hosts filed there, in filing order. */
  private readonly slots = new Map<number, HostInfo[]>();

  /** Files `host` under its checkAt (non-zero). */
  schedule(host: HostInfo): void {
    const slot = Math.floor(host.checkAt / SLOT_MS);
    const hosts = this.slots.get(slot);
    if (hosts === undefined) this.slots.set(slot, [host]);
    else hosts.push(host);
  }

  /**
   * Takes every host out whose checkAt is at or before `now` and calls `visit` with it, in due order by slot.
   * Hosts of the current slot not due yet stay filed. `visit` may schedule hosts again (into later slots). If
   * `visit` throws, the host it threw for counts as taken and every host not visited yet stays filed.
   */
  takeDue(now: number, visit: (host: HostInfo) => void): void {
    const last = Math.floor(now / SLOT_MS);
    const due: number[] = [];
    for (const slot of this.slots.keys()) if (slot <= last) due.push(slot);
    due.sort((a, b) => a - b);
    for (const slot of due) {
      const hosts = this.slots.get(slot)!;
      this.slots.delete(slot);
      let waiting: HostInfo[] | null = null;
      let next = 0;
      try {
        while (next < hosts.length) {
          const host = hosts[next++];
          // checkAt 0: nothing is scheduled (not a state the node leaves a filed host in; tolerated, not visited).
          if (host.checkAt === 0) continue;
          if (host.checkAt <= now) visit(host);
          else (waiting ??= []).push(host);
        }
      } finally {
        // Hosts not visited stay filed: the current slot's not due yet, and, when a visit threw (the caller's send
        // of a test request failed), the rest of this slot behind it, which the next take visits. Later due slots
        // were not taken out. A visit may have filed new hosts into this slot meanwhile.
        const kept = next < hosts.length ? [...(waiting ?? []), ...hosts.slice(next)] : waiting;
        if (kept !== null) {
          const refiled = this.slots.get(slot);
          this.slots.set(slot, refiled === undefined ? kept : [...kept, ...refiled]);
        }
      }
    }
  }

  /** Hosts filed (a closed tunnel's entry stays until its slot comes due). */
  get size(): number {
    let n = 0;
    for (const hosts of this.slots.values()) n += hosts.length;
    return n;
  }
}
