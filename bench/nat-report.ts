// Prints the NAT traversal grid (direct or relayed, per pair of NAT kinds) and roaming recovery times, for mesh and
// for nebula 1.6.1 in the same lab, run after run. Run as root: `node dist/bench/nat-report.js [rounds]`.

import { Lab } from '../test/e2e/lab/lab.js';
import type { Host, Router } from '../test/e2e/lab/lab.js';
import { meshImpl } from '../test/e2e/lab/mesh-impl.js';
import type { NatKind } from '../test/e2e/lab/nat.js';
import { OverlayNet, nebulaImpl } from '../test/e2e/lab/nebula.js';
import type { OverlayImpl } from '../test/e2e/lab/nebula.js';
import { measureRecovery } from '../test/e2e/lab/recovery.js';
import { sleep, waitFor } from '../test/e2e/lab/wait.js';

type Side = 'public' | NatKind;
const PAIRS: Array<[Side, Side]> = [
  ['public', 'masq'],
  ['masq', 'masq'],
  ['public', 'random'],
  ['random', 'masq'],
  ['random', 'random'],
];

async function place(lab: Lab, side: Side, name: string): Promise<{ host: Host; router?: Router; wanIp: string }> {
  if (side === 'public') {
    const host = await lab.publicHost(name);
    return { host, wanIp: host.ip };
  }
  const router = await lab.natRouter(side);
  const host = await lab.hostBehind(router, name);
  return { host, router, wanIp: router.wanIp };
}

async function gridCell(impl: OverlayImpl, sideA: Side, sideB: Side): Promise<string> {
  const lab = await Lab.create();
  try {
    const lhHost = await lab.publicHost('lh');
    const a = await place(lab, sideA, 'a');
    const b = await place(lab, sideB, 'b');
    const inet = await lab.internet();
    const direct = await lab.trafficCounter(inet, { saddr: a.wanIp, daddr: b.wanIp, minUdpLength: 40 });
    const net = await OverlayNet.create(lab);
    await net.start(lhHost, { name: 'lh', lighthouse: true, relay: true, impl, tunDisabled: true });
    const punchy = { punch: true, respond: true };
    await net.start(a.host, { name: 'a', impl, punchy });
    const nb = await net.start(b.host, { name: 'b', impl, punchy });
    const t0 = performance.now();
    await waitFor(async () => ((await lab.ping(a.host, nb.vpnIp, { count: 1, timeoutSec: 1 })).ok ? true : null), {
      timeoutMs: 20_000,
      intervalMs: 0,
      what: 'first reply',
    });
    const first = performance.now() - t0;
    // Leave time for a relayed start to go direct, then see where pings travel.
    await sleep(8000);
    const before = (await direct.read()).packets;
    const ping = await lab.ping(a.host, nb.vpnIp, { count: 5, timeoutSec: 2, intervalSec: 0.1 });
    const directNow = (await direct.read()).packets - before;
    const path = !ping.ok ? 'broken' : directNow >= 5 ? 'direct' : 'relayed';
    return `${path} (first reply ${first.toFixed(0)} ms)`;
  } catch (e) {
    return `failed: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    await lab.destroy();
  }
}

async function roaming(impl: OverlayImpl, sender: 'mover' | 'other'): Promise<string> {
  const lab = await Lab.create();
  try {
    const lhHost = await lab.publicHost('lh');
    const r1 = await lab.natRouter('masq');
    const r2 = await lab.natRouter('masq');
    const r3 = await lab.natRouter('masq');
    const mover = await lab.hostBehind(r1, 'mover');
    const other = await lab.hostBehind(r2, 'other');
    const net = await OverlayNet.create(lab);
    await net.start(lhHost, { name: 'lh', lighthouse: true, relay: true, impl, tunDisabled: true });
    const punchy = { punch: true, respond: true };
    const nm = await net.start(mover, { name: 'mover', impl, punchy });
    const no = await net.start(other, { name: 'other', impl, punchy });
    await waitFor(async () => ((await lab.ping(mover, no.vpnIp, { count: 1, timeoutSec: 1 })).ok ? true : null), {
      timeoutMs: 20_000,
      intervalMs: 0,
      what: 'tunnel',
    });
    await sleep(3000);
    const [from, target] = sender === 'mover' ? [mover, no.vpnIp] : [other, nm.vpnIp];
    const r = await measureRecovery(
      lab,
      from,
      target,
      async () => {
        await lab.moveBehind(mover, r3);
        await lab.flushConntrack(r1);
      },
      { afterMs: 30_000 },
    );
    return r.recoveryMs === null ? 'no recovery in 30 s' : `${(r.recoveryMs / 1000).toFixed(2)} s`;
  } catch (e) {
    return `failed: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    await lab.destroy();
  }
}

async function main(): Promise<void> {
  const impls = [meshImpl, nebulaImpl];
  console.log('NAT grid (lighthouse public and relay; masq = masquerade, random = masquerade random)');
  console.log(`| pair | ${impls.map((i) => i.name).join(' | ')} |`);
  console.log(`|---|${impls.map(() => '---').join('|')}|`);
  for (const [a, b] of PAIRS) {
    const cells: string[] = [];
    for (const impl of impls) cells.push(await gridCell(impl, a, b));
    console.log(`| ${a} / ${b} | ${cells.join(' | ')} |`);
  }
  console.log('\nRoaming: a host behind a masq NAT moves behind another masq NAT, the old NAT is flushed; 10 Hz ping');
  console.log(`| who sends | ${impls.map((i) => i.name).join(' | ')} |`);
  console.log(`|---|${impls.map(() => '---').join('|')}|`);
  for (const sender of ['mover', 'other'] as const) {
    const cells: string[] = [];
    for (const impl of impls) cells.push(await roaming(impl, sender));
    console.log(`| ${sender === 'mover' ? 'the host that moved' : 'the host that stayed'} | ${cells.join(' | ')} |`);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
