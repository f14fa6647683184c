// Prints the NAT traversal grid (direct or relayed, per pair of NAT kinds), carrier-grade NAT (two levels of NAT,
// each side first), UDP blocked, port mapping and roaming recovery times, for mesh and for nebula 1.6.1 in the same
// lab, run after run, and what `mesh netcheck` says with one lighthouse. Run as root: `node dist/bench/nat-report.js`.

import { Lab } from '../test/e2e/lab/lab.js';
import type { Host, Router } from '../test/e2e/lab/lab.js';
import { meshImpl } from '../test/e2e/lab/mesh-impl.js';
import type { NatKind } from '../test/e2e/lab/nat.js';
import { OverlayNet, nebulaImpl } from '../test/e2e/lab/nebula.js';
import type { OverlayImpl } from '../test/e2e/lab/nebula.js';
import { natLevelsPair, netcheckBehind, type Levels } from '../test/e2e/lab/nat-levels.js';
import { portmapScenario } from '../test/e2e/lab/portmap-scenario.js';
import { measureRecovery } from '../test/e2e/lab/recovery.js';
import { udpBlockedScenario } from '../test/e2e/lab/udp-blocked.js';
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

const CGNAT: Array<[Levels, Levels, 'a' | 'b', 'settled' | 'cold']> = [
  [1, 2, 'a', 'settled'],
  [1, 2, 'b', 'settled'],
  [2, 1, 'a', 'settled'],
  [2, 1, 'b', 'settled'],
  [2, 2, 'a', 'settled'],
  [2, 2, 'b', 'settled'],
  [2, 1, 'b', 'cold'],
  [2, 2, 'b', 'cold'],
];

async function inLab<T>(fn: (lab: Lab) => Promise<T>): Promise<T | string> {
  const lab = await Lab.create();
  try {
    return await fn(lab);
  } catch (e) {
    return `failed: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    await lab.destroy();
  }
}

async function cgnatCell(
  impl: OverlayImpl,
  la: Levels,
  lb: Levels,
  first: 'a' | 'b',
  start: 'settled' | 'cold',
): Promise<string> {
  const r = await inLab((lab) => natLevelsPair(lab, impl, la, lb, first, 8000, start));
  if (typeof r === 'string') return r;
  const direct = r.directAfterMs === null ? 'never direct in 8 s' : `direct after ${r.directAfterMs.toFixed(0)} ms`;
  return `${r.path} (first reply ${r.firstReplyMs.toFixed(0)} ms, ${direct})`;
}

async function netcheckCell(kind: 'masq' | 'random', levels: 1 | 2): Promise<string> {
  const r = await inLab((lab) => netcheckBehind(lab, meshImpl, kind, levels));
  if (typeof r === 'string') return r;
  return `mapping ${r.mapping}, filtering ${r.filtering ?? 'unknown'}, punch ttl ${r.punchTtl ?? 'default'}`;
}

async function udpBlockedCell(impl: OverlayImpl): Promise<string> {
  try {
    const r = await udpBlockedScenario(impl, { unblock: false });
    const ms = (v: number | null): string => (v === null ? 'none in 10 s' : `${v.toFixed(0)} ms`);
    return `a->b ${ms(r.aToBMs)}, b->a ${ms(r.bToAMs)}; ${r.path}`;
  } catch (e) {
    return `failed: ${(e as Error).message.split('\n')[0]}`;
  }
}

async function portmapCell(impl: OverlayImpl): Promise<string> {
  const cleanups: Array<() => unknown> = [];
  try {
    const r = await portmapScenario({ after: (fn) => void cleanups.push(fn) }, { impl });
    const direct =
      r.directAfterMs === null ? 'never direct' : `direct ${(r.directAfterMs / 1000).toFixed(1)} s after start`;
    return `a->b ${r.path}, b->a ${r.reversePath} (first reply ${r.firstReplyMs.toFixed(0)} ms, ${direct})`;
  } catch (e) {
    return `failed: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    for (const fn of cleanups) await fn();
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
  console.log(
    '\nCarrier-grade NAT (levels of masq NAT in front of a / of b; who pings first, 1 s after start unless "at once")',
  );
  console.log(`| levels a x b, first | ${impls.map((i) => i.name).join(' | ')} |`);
  console.log(`|---|${impls.map(() => '---').join('|')}|`);
  for (const [la, lb, first, start] of CGNAT) {
    const cells: string[] = [];
    for (const impl of impls) cells.push(await cgnatCell(impl, la, lb, first, start));
    console.log(
      `| ${la} x ${lb}, ${first} first${start === 'cold' ? ', at once after start' : ''} | ${cells.join(' | ')} |`,
    );
  }
  console.log('\nmesh netcheck with one mesh lighthouse (nebula has no netcheck)');
  console.log('| NAT in front of the node | mesh netcheck says |');
  console.log('|---|---|');
  for (const [kind, levels, label] of [
    ['masq', 1, 'masq (port-preserving)'],
    ['random', 1, 'random (port-rewriting)'],
    ['masq', 2, 'masq behind masq (two levels)'],
  ] as const) {
    console.log(`| ${label} | ${await netcheckCell(kind, levels)} |`);
  }
  console.log(
    '\nUDP blocked: a behind a router that drops all UDP but DNS, b public, lh public and a relay; first reply after a starts',
  );
  console.log(`| ${impls.map((i) => i.name).join(' | ')} |`);
  console.log(`|${impls.map(() => '---').join('|')}|`);
  const blocked: string[] = [];
  for (const impl of impls) blocked.push(await udpBlockedCell(impl));
  console.log(`| ${blocked.join(' | ')} |`);
  console.log("\nPort mapping: both routers random (symmetric), miniupnpd on a's");
  console.log(`| ${impls.map((i) => i.name).join(' | ')} |`);
  console.log(`|${impls.map(() => '---').join('|')}|`);
  const mapped: string[] = [];
  for (const impl of impls) mapped.push(await portmapCell(impl));
  console.log(`| ${mapped.join(' | ')} |`);
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
