import { MESH_MAIN } from './mesh-impl.js';
import type { Host, Lab, Router } from './lab.js';
import type { NatKind } from './nat.js';
import { OverlayNet } from './overlay-net.js';
import type { OverlayNode } from './overlay-net.js';
import type { OverlayImpl } from './overlay-node.js';
import { sleep, waitFor } from './wait.js';

// Carrier-grade NAT scenarios (issue 16, section 3) and netcheck against a single lighthouse (section 4), shared by
// the e2e tests and bench/nat-report.ts. A side sits behind `levels` NATs: 1 = a home router on the internet, 2 = a
// home router whose WAN is on a carrier router's LAN (Lab.natRouterBehind). The lighthouse is public and a relay.

export type Levels = 0 | 1 | 2;

export interface PlacedHost {
  host: Host;
  /** The outermost router (none when public). */
  outer?: Router;
  /** Where the side's packets appear on the internet. */
  wanIp: string;
}

/** A host behind `levels` NATs of `kind` (each level its own router). */
export async function placeBehind(
  lab: Lab,
  levels: Levels,
  name: string,
  kind: Exclude<NatKind, 'none'> = 'masq',
): Promise<PlacedHost> {
  if (levels === 0) {
    const host = await lab.publicHost(name);
    return { host, wanIp: host.ip };
  }
  const outer = await lab.natRouter(kind);
  const inner = levels === 2 ? await lab.natRouterBehind(outer, kind) : outer;
  const host = await lab.hostBehind(inner, name);
  return { host, outer, wanIp: outer.wanIp };
}

export interface PairResult {
  /** From the first ping of the side that speaks first to its first reply. */
  firstReplyMs: number;
  /** From that first ping until three pings in a row crossed directly both ways (null: never within settleMs). */
  directAfterMs: number | null;
  path: 'direct' | 'relayed' | 'broken';
  /** The punch TTL each mesh node learned (from its log), null when not learned or not mesh. */
  punchTtl: { a: number | null; b: number | null };
}

/** The punch TTL a mesh node logged when it measured its NAT, or null (nebula, or nothing learned in time). */
async function learnedTtl(node: OverlayNode, impl: OverlayImpl, timeoutMs: number): Promise<number | null> {
  if (impl.name !== 'mesh') return null;
  try {
    const m = await node.waitForLog(/NAT behaviour measured.*punchTtl=(\S+)/, timeoutMs);
    return /^\d+$/.test(m[1]) ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * a behind `levelsA` NATs, b behind `levelsB`; `first` pings the other first, at least one second after start for
 * both implementations (a mesh node also waits for its NAT measurement, a few hundred ms in the lab). Then where ten pings go: direct (through the internet between the
 * two outer routers) or relayed (through the lighthouse). `settleMs`: time given to a relayed start to go direct.
 */
export async function natLevelsPair(
  lab: Lab,
  impl: OverlayImpl,
  levelsA: Levels,
  levelsB: Levels,
  first: 'a' | 'b',
  settleMs = 8000,
  /** 'cold': the first ping goes as soon as both nodes are up, before a mesh node has measured its NAT. */
  start: 'settled' | 'cold' = 'settled',
): Promise<PairResult> {
  const lhHost = await lab.publicHost('lh');
  const a = await placeBehind(lab, levelsA, 'a');
  const b = await placeBehind(lab, levelsB, 'b');
  const inet = await lab.internet();
  const directAB = await lab.trafficCounter(inet, { saddr: a.wanIp, daddr: b.wanIp, minUdpLength: 40 });
  const directBA = await lab.trafficCounter(inet, { saddr: b.wanIp, daddr: a.wanIp, minUdpLength: 40 });
  const net = await OverlayNet.create(lab);
  await net.start(lhHost, { name: 'lh', lighthouse: true, relay: true, impl, tunDisabled: true });
  const punchy = { punch: true, respond: true };
  const [na, nb] = await Promise.all([
    net.start(a.host, { name: 'a', impl, punchy }),
    net.start(b.host, { name: 'b', impl, punchy }),
  ]);
  const startedAt = performance.now();
  const measured = Promise.all([learnedTtl(na, impl, 5000), learnedTtl(nb, impl, 5000)]);
  if (start === 'settled') {
    await measured;
    // Both implementations get the same second after start (mesh measures its NAT within it) before the first ping.
    await sleep(Math.max(0, 1000 - (performance.now() - startedAt)));
  }
  const [from, to] = first === 'a' ? [a.host, nb] : [b.host, na];
  const t0 = performance.now();
  await waitFor(async () => ((await lab.ping(from, to.vpnIp, { count: 1, timeoutSec: 1 })).ok ? true : null), {
    timeoutMs: 20_000,
    intervalMs: 0,
    what: `first reply ${from.name} -> ${to.name}\n${lab.logTails(40)}`,
  });
  const firstReplyMs = performance.now() - t0;
  // Direct means both directions cross the internet between the outer routers. Rounds of three quick pings, from
  // the first reply on, until one goes direct: how long a path takes to go direct, not only whether it does.
  const deadline = t0 + settleMs;
  let path: PairResult['path'] = 'broken';
  let directAfterMs: number | null = null;
  for (let round = 0; round < 200; round++) {
    const before = [(await directAB.read()).packets, (await directBA.read()).packets];
    const ping = await lab.ping(from, to.vpnIp, { count: 3, timeoutSec: 1, intervalSec: 0.05 });
    const after = [(await directAB.read()).packets, (await directBA.read()).packets];
    path = !ping.ok ? 'broken' : after[0] - before[0] >= 3 && after[1] - before[1] >= 3 ? 'direct' : 'relayed';
    if (path === 'direct') {
      directAfterMs = performance.now() - t0;
      break;
    }
    if (performance.now() > deadline) break;
  }
  const [ttlA, ttlB] = await measured;
  return { firstReplyMs, directAfterMs, path, punchTtl: { a: ttlA, b: ttlB } };
}

export interface NetcheckOutcome {
  mapping: string;
  filtering: string | undefined;
  punchTtl: number | null | undefined;
  text: string;
}

/** `mesh netcheck` of a mesh node behind one NAT of `kind`, with one public mesh lighthouse. */
export async function netcheckBehind(
  lab: Lab,
  impl: OverlayImpl,
  kind: Exclude<NatKind, 'none'>,
  levels: 1 | 2 = 1,
): Promise<NetcheckOutcome> {
  const lhHost = await lab.publicHost('lh');
  const placed = await placeBehind(lab, levels, 'a', kind);
  const net = await OverlayNet.create(lab);
  await net.start(lhHost, { name: 'lh', lighthouse: true, impl, tunDisabled: true });
  const node = await net.start(placed.host, { name: 'a', impl, tunDisabled: true });
  await node.waitForLog(/Control socket listening/, 5000);
  const run = (json: boolean) =>
    lab.exec(
      placed.host,
      process.execPath,
      [MESH_MAIN, 'netcheck', '-config', node.configPath, ...(json ? ['-json'] : [])],
      { check: false, timeoutMs: 20_000 },
    );
  const json = await run(true);
  if (json.exitCode !== 0) throw new Error(`netcheck failed: ${json.stderr}\n${lab.logTails()}`);
  const report = JSON.parse(json.stdout) as {
    verdict: { mapping: string; filtering?: string; punchTtl?: number | null };
  };
  const text = (await run(false)).stdout;
  return {
    mapping: report.verdict.mapping,
    filtering: report.verdict.filtering,
    punchTtl: report.verdict.punchTtl,
    text,
  };
}
