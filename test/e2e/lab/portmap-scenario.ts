import type { CleanupScope } from './lab.js';
import { Lab } from './lab.js';
import { meshImpl } from './mesh-impl.js';
import { startMiniupnpd, type Miniupnpd } from './miniupnpd.js';
import { OverlayNet, type OverlayNode } from './nebula.js';
import type { OverlayImpl } from './overlay-node.js';
import { reaches } from './reach.js';
import { waitFor } from './wait.js';

// Issue 16's port-mapping case: a public lighthouse (also a relay), `a` behind a symmetric ('random') router that
// runs miniupnpd, `b` behind another symmetric router without one. With mesh, a maps its port and advertises it,
// so b reaches a directly and a answers through the mapping. Nebula 1.6.1 has no port mapping: relayed.
// Paths are told apart by counting tunnel packets (UDP >= 40 bytes) on the internet namespace, as nat-grid does.

export type PortmapPath = 'direct' | 'relayed' | 'unknown';

export interface PortmapScenarioResult {
  /** a -> b: ms from both nodes ready (their ready log line) to the first overlay ping reply. */
  firstReplyMs: number;
  /** b -> a, right after. */
  reverseFirstReplyMs: number;
  /** Where a's pings to b went once settled (within settleMs), and b's to a. */
  path: PortmapPath;
  reversePath: PortmapPath;
  /** ms from both nodes ready until a's pings to b were seen going direct; null if they never did. */
  directAfterMs: number | null;
  /** The address a is seen at on the internet (the router's NAT address). */
  mappedIp: string;
  /** With `extIp`: tunnel packets b's side sent to extIp (it is routed to a's router, so it would work if used). */
  toExtIp: number;
  lab: Lab;
  a: OverlayNode;
  b: OverlayNode;
  upnpd: Miniupnpd;
}

export interface PortmapScenarioOptions {
  impl?: OverlayImpl;
  /** How long to wait for a direct path before calling it relayed (default 15 s). */
  settleMs?: number;
  /**
   * miniupnpd's ext_ip, claimed instead of the address a is seen at. The internet routes it to a's router too (whose
   * miniupnpd rules forward it), so advertising it would work: only the comparison with the seen address stops it.
   */
  extIp?: string;
}

export async function portmapScenario(
  scope: CleanupScope,
  options: PortmapScenarioOptions = {},
): Promise<PortmapScenarioResult> {
  const impl = options.impl ?? meshImpl;
  const lab = await Lab.create(scope);
  const lhHost = await lab.publicHost('lh');
  const ra = await lab.natRouter('random');
  const rb = await lab.natRouter('random');
  const a = await lab.hostBehind(ra, 'a');
  const b = await lab.hostBehind(rb, 'b');
  const upnpd = await startMiniupnpd(lab, ra, { extIp: options.extIp });
  const aIp = upnpd.publicIp;
  const inet = await lab.internet();
  const count = (saddr: string, daddr: string) => lab.trafficCounter(inet, { saddr, daddr, minUdpLength: 40 });
  const [abDirect, baDirect, aRelay, bRelay] = await Promise.all([
    count(aIp, rb.wanIp),
    count(rb.wanIp, aIp),
    count(aIp, lhHost.ip),
    count(rb.wanIp, lhHost.ip),
  ]);
  if (options.extIp) await lab.exec(inet, 'ip', ['route', 'add', `${options.extIp}/32`, 'via', ra.wanIp]);
  const toExt = options.extIp ? await count(rb.wanIp, options.extIp) : null;

  const net = await OverlayNet.create(lab);
  await net.start(lhHost, { name: 'lh', lighthouse: true, relay: true, impl, tunDisabled: true });
  const punchy = { punch: true, respond: true };
  const [na, nb] = await Promise.all([
    net.start(a, { name: 'a', impl, punchy }),
    net.start(b, { name: 'b', impl, punchy }),
  ]);
  // Timed from both nodes ready, as nat-grid and the recovery scenarios time a cold tunnel.
  const started = performance.now();
  const firstReplyMs = await reaches(lab, a, nb);
  const reverseFirstReplyMs = await reaches(lab, b, na);

  const settleMs = options.settleMs ?? 15_000;
  const watch = async (
    from: typeof a,
    to: typeof nb,
    direct: typeof abDirect,
    relay: typeof aRelay,
  ): Promise<PortmapPath> => {
    const d0 = (await direct.read()).packets;
    const r0 = (await relay.read()).packets;
    const ping = await lab.ping(from, to.vpnIp, { count: 3, timeoutSec: 2, intervalSec: 0.1 });
    const d = (await direct.read()).packets - d0;
    const r = (await relay.read()).packets - r0;
    if (!ping.ok) return 'unknown';
    return d >= 3 && r < 3 ? 'direct' : r >= 3 && d === 0 ? 'relayed' : 'unknown';
  };
  let directAfterMs: number | null = null;
  let path: PortmapPath = 'unknown';
  try {
    await waitFor(
      async () => {
        path = await watch(a, nb, abDirect, aRelay);
        if (path === 'direct') directAfterMs = performance.now() - started;
        return path === 'direct' ? true : null;
      },
      { timeoutMs: settleMs, intervalMs: 300, what: 'a direct path a -> b' },
    );
  } catch {
    // stays what the last look saw
  }
  const reversePath = await watch(b, na, baDirect, bRelay);
  const toExtIp = toExt ? (await toExt.read()).packets : 0;
  return {
    firstReplyMs,
    reverseFirstReplyMs,
    path,
    reversePath,
    directAfterMs,
    mappedIp: aIp,
    toExtIp,
    lab,
    a: na,
    b: nb,
    upnpd,
  };
}
