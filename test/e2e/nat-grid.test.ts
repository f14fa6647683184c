import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Lab } from './lab/lab.js';
import type { Host, Router } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { OverlayNet } from './lab/nebula.js';
import type { NatKind } from './lab/nat.js';
import { sleep, waitFor } from './lab/wait.js';
import { reaches } from './lab/reach.js';

// The NAT grid: two mesh nodes, each public or behind a NAT router (masq = port-preserving masquerade, random =
// symmetric), with a public mesh lighthouse that is also a relay. Every pair must talk; the path is direct where
// NAT allows it and relayed otherwise. Paths are told apart by counting tunnel packets where they cross.

type Side = 'public' | NatKind;

interface Placed {
  host: Host;
  router?: Router;
  /** The address the other side's packets come from when they arrive directly. */
  wanIp: string;
}

async function place(lab: Lab, side: Side, name: string): Promise<Placed> {
  if (side === 'public') {
    const host = await lab.publicHost(name);
    return { host, wanIp: host.ip };
  }
  const router = await lab.natRouter(side as NatKind);
  const host = await lab.hostBehind(router, name);
  return { host, router, wanIp: router.wanIp };
}

const grid: Array<[Side, Side, 'direct' | 'relayed']> = [
  ['public', 'masq', 'direct'],
  ['masq', 'masq', 'direct'],
  ['random', 'masq', 'direct'],
  ['public', 'random', 'direct'],
  ['random', 'random', 'relayed'],
];

for (const [sideA, sideB, expected] of grid) {
  test(`mesh ${sideA} <-> ${sideB}: traffic flows, ${expected}`, async (t) => {
    const lab = await Lab.create(t);
    const lhHost = await lab.publicHost('lh');
    const a = await place(lab, sideA, 'a');
    const b = await place(lab, sideB, 'b');
    const inet = await lab.internet();
    // Tunnel packets (>= 40 bytes of UDP) from a's side to b's side, and from a's side to the lighthouse.
    const direct = await lab.trafficCounter(inet, { saddr: a.wanIp, daddr: b.wanIp, minUdpLength: 40 });
    const viaRelay = await lab.trafficCounter(inet, { saddr: a.wanIp, daddr: lhHost.ip, minUdpLength: 40 });

    const net = await OverlayNet.create(lab);
    await net.start(lhHost, { name: 'lh', lighthouse: true, relay: true, impl: meshImpl, tunDisabled: true });
    const punchy = { punch: true, respond: true };
    const [na, nb] = await Promise.all([
      net.start(a.host, { name: 'a', impl: meshImpl, punchy }),
      net.start(b.host, { name: 'b', impl: meshImpl, punchy }),
    ]);
    const first = await reaches(lab, a.host, nb);
    await reaches(lab, b.host, na);

    // Give a relayed start time to move to a direct path, then watch where ten pings go.
    let seen = 'nothing yet';
    const settled = await waitFor(
      async () => {
        const d0 = (await direct.read()).packets;
        const r0 = (await viaRelay.read()).packets;
        const ping = await lab.ping(a.host, nb.vpnIp, { count: 3, timeoutSec: 2, intervalSec: 0.1 });
        const d = (await direct.read()).packets - d0;
        const r = (await viaRelay.read()).packets - r0;
        seen = `last round: ping ${ping.ok ? 'answered' : 'unanswered'}, ${d} packets direct, ${r} via the relay`;
        if (!ping.ok) return null;
        const path = d >= 3 && r < 3 ? 'direct' : r >= 3 && d === 0 ? 'relayed' : null;
        return path === expected ? path : null;
      },
      // The logs as they are at the timeout, not as they were when the wait began.
      {
        timeoutMs: 15_000,
        intervalMs: 500,
        what: () => `a ${expected} path ${sideA}<->${sideB} (${seen})\n${lab.logTails(40)}`,
      },
    );
    const pings = await lab.ping(a.host, nb.vpnIp, { count: 10, timeoutSec: 3, intervalSec: 0.1 });
    assert.equal(pings.rttMs.length, 10, lab.logTails());
    t.diagnostic(
      `${sideA}<->${sideB}: ${settled}; first reply after ${first.toFixed(0)} ms; rtt ${pings.rttMs.slice(0, 5).join('/')} ms`,
    );
    await sleep(0);
  });
}
