import type { StatusReport } from '../../../pkg/control/reports.js';
import { Lab } from './lab.js';
import type { CleanupScope, Host, Router } from './lab.js';
import { MESH_MAIN, meshImpl } from './mesh-impl.js';
import { OverlayNet, type OverlayNode } from './overlay-net.js';
import type { OverlayImpl } from './overlay-node.js';
import type { LabProcess } from './process.js';
import { sleep, waitFor } from './wait.js';

// A network that drops UDP (hotels, offices: only DNS passes) and the TCP fallback scenario built on it
// (docs/tcp-fallback.md): a public lighthouse that is also a relay, node a behind a NAT router that forwards no UDP
// except port 53, node b public. Returns the time from a's start to the first ping reply each way and a's path to b;
// then UDP is let through again and the time until a is back on UDP is measured. bench/nat-report.ts prints it next
// to nebula 1.6.1, which has no TCP and never gets a reply here ("no path").

const TABLE = 'lab_udp_block';
/** Two UDP retry rounds (5 s apart) after the fallback at ~2 s. */
const STILL_ON_TCP_AFTER_MS = 13_000;

/** Drops every UDP datagram the router forwards, either way, except DNS (port 53); returns the undo. */
export async function blockUdp(lab: Lab, router: Router): Promise<{ unblock(): Promise<void> }> {
  const ruleset =
    `table inet ${TABLE} {\n  chain forward {\n    type filter hook forward priority -5; policy accept;\n` +
    '    meta l4proto udp udp dport != 53 udp sport != 53 counter drop\n  }\n}\n';
  await lab.exec(router, 'nft', ['-f', '-'], { input: ruleset });
  return { unblock: async () => void (await lab.exec(router, 'nft', ['delete', 'table', 'inet', TABLE])) };
}

export interface UdpBlockedResult {
  /** ms from a's start to its first ping reply from b; null: none within timeoutMs. */
  aToBMs: number | null;
  /** ms from a's start to b's first ping reply from a. */
  bToAMs: number | null;
  /** a's path to b as `mesh status` says it ("relayed via lh over tcp"), or "no path". */
  path: string;
  /** After UDP is let through: ms until a is off TCP and b answers it (mesh only; null: not back in time). */
  backToUdpMs: number | null;
  /** UDP datagrams a sent through the router in 2 s of pings after the move back, and TCP segments meanwhile. */
  udpAfter: number;
  tcpAfter: number;
  /** mesh: a never left TCP, and b still answers it, two UDP retry rounds (5 s each) after falling back. */
  stillOnTcp: boolean;
  /** mesh: what `mesh netcheck` and `mesh status` (text) on a said while on TCP ('' for nebula). */
  netcheck: string;
  status: string;
  /** Log tails when something did not come. */
  detail: string;
}

export interface UdpBlockedOptions {
  scope?: CleanupScope;
  /** How long each way may take to the first reply; default 10 s (the goal). */
  timeoutMs?: number;
  /** Also let UDP through again and measure the move back (mesh only); default true. */
  unblock?: boolean;
  /** b behind an ordinary (masquerading) NAT instead of public; default false. */
  bBehindNat?: boolean;
}

export async function udpBlockedScenario(
  impl: OverlayImpl,
  options: UdpBlockedOptions = {},
): Promise<UdpBlockedResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const lab = await Lab.create(options.scope);
  try {
    const hl = await lab.publicHost('lh');
    const router = await lab.natRouter('masq');
    const ha = await lab.hostBehind(router, 'a');
    const hb = options.bBehindNat ? await lab.hostBehind(await lab.natRouter('masq'), 'b') : await lab.publicHost('b');
    const block = await blockUdp(lab, router);
    const net = await OverlayNet.create(lab);
    await net.start(hl, { name: 'lh', lighthouse: true, relay: true, impl, tunDisabled: true });
    const b = await net.start(hb, { name: 'b', impl });
    const startedAt = Date.now();
    // No relay.relays on a: the lighthouse it reaches over TCP becomes its relay meanwhile.
    const a = await net.start(ha, { name: 'a', impl, relays: [] });
    const aPing = await startPing(lab, ha, b.vpnIp);
    const bPing = await startPing(lab, hb, a.vpnIp);
    let aToBMs: number | null = null;
    let bToAMs: number | null = null;
    try {
      await waitFor(
        () => {
          aToBMs = firstReplyAt(aPing.proc.log(), startedAt);
          bToAMs = firstReplyAt(bPing.proc.log(), startedAt);
          return aToBMs !== null && bToAMs !== null ? true : null;
        },
        { timeoutMs: Math.max(0, startedAt + timeoutMs - Date.now()), intervalMs: 50, what: 'first replies' },
      ).catch(() => undefined);
    } finally {
      await aPing.proc.kill();
      await bPing.proc.kill();
    }
    const path = aToBMs === null ? 'no path' : isMesh(impl) ? await pathTo(lab, a, b) : 'relayed';
    const result: UdpBlockedResult = {
      aToBMs,
      bToAMs,
      path,
      backToUdpMs: null,
      udpAfter: 0,
      tcpAfter: 0,
      stillOnTcp: false,
      netcheck: '',
      status: '',
      detail: '',
    };
    if (isMesh(impl)) {
      const text = async (command: string): Promise<string> => {
        const r = await meshCommand(lab, a, command);
        // netcheck exits 1 when UDP does not work, with its report on stdout all the same.
        return r.stdout !== '' ? r.stdout : `mesh ${command} exited ${r.exitCode}: ${r.stderr}`;
      };
      result.netcheck = await text('netcheck');
      result.status = await text('status');
      // Nothing may pass for UDP working meanwhile (each round tests UDP and the link).
      await sleep(Math.max(0, startedAt + STILL_ON_TCP_AFTER_MS - Date.now()));
      const pinged = (await lab.ping(ha, b.vpnIp, { count: 1, timeoutSec: 2 })).ok;
      // ... nor in between: a fallback that ended and began again would be back on TCP by now, but says so in its log.
      const leftTcp = /UDP works again/.test(a.log());
      result.stillOnTcp = pinged && !leftTcp && (await status(lab, a))?.self.transport === 'tcp';
    }
    if (aToBMs === null || bToAMs === null) result.detail = lab.logTails(40);
    if (options.unblock !== false && isMesh(impl) && aToBMs !== null)
      await measureBackToUdp(lab, router, ha, a, b, block, result);
    return result;
  } finally {
    await lab.destroy();
  }
}

async function measureBackToUdp(
  lab: Lab,
  router: Router,
  ha: Host,
  a: OverlayNode,
  b: OverlayNode,
  block: { unblock(): Promise<void> },
  result: UdpBlockedResult,
): Promise<void> {
  const udp = await lab.trafficCounter(router, { hook: 'forward', saddr: ha.ip, proto: 'udp' });
  const tcp = await lab.trafficCounter(router, { hook: 'forward', saddr: ha.ip, proto: 'tcp' });
  const unblockedAt = performance.now();
  await block.unblock();
  try {
    await waitFor(
      async () => {
        const s = await status(lab, a);
        if (s?.self.transport !== 'udp') return null;
        return (await lab.ping(ha, b.vpnIp, { count: 1, timeoutSec: 1 })).ok ? true : null;
      },
      { timeoutMs: 15_000, intervalMs: 100, what: 'a back on UDP' },
    );
    result.backToUdpMs = Math.round(performance.now() - unblockedAt);
  } catch {
    result.detail += lab.logTails(40);
    return;
  }
  const udpBefore = (await udp.read()).packets;
  const tcpBefore = (await tcp.read()).packets;
  await lab.ping(ha, b.vpnIp, { count: 10, intervalSec: 0.2, timeoutSec: 3 });
  result.udpAfter = (await udp.read()).packets - udpBefore;
  result.tcpAfter = (await tcp.read()).packets - tcpBefore;
}

async function startPing(lab: Lab, from: Host, target: string): Promise<{ proc: LabProcess }> {
  return { proc: await lab.spawn(from, 'stdbuf', ['-oL', 'ping', '-D', '-n', '-i', '0.2', '-W', '1', target]) };
}

/** ms from `startedAt` (epoch ms) to the first reply line of `ping -D`, or null. */
function firstReplyAt(log: string, startedAt: number): number | null {
  const m = /^\[(\d+\.\d+)\] \d+ bytes from/m.exec(log);
  return m === null ? null : Math.round(Number(m[1]) * 1000 - startedAt);
}

function meshCommand(lab: Lab, node: OverlayNode, command: string, ...args: string[]) {
  return lab.exec(node.host, process.execPath, [MESH_MAIN, command, '-config', node.configPath, ...args], {
    check: false,
    timeoutMs: 30_000,
  });
}

async function status(lab: Lab, node: OverlayNode): Promise<StatusReport | null> {
  const r = await meshCommand(lab, node, 'status', '-json');
  if (r.exitCode !== 0) return null;
  return JSON.parse(r.stdout) as StatusReport;
}

/** a's path to b in `mesh status` words. */
async function pathTo(lab: Lab, a: OverlayNode, b: OverlayNode): Promise<string> {
  const peer = (await status(lab, a))?.peers.find((p) => p.vpnIp === b.vpnIp);
  if (!peer) return 'no tunnel';
  const path = peer.path === 'direct' ? 'direct' : `relayed via ${peer.via === null ? '?' : peer.via}`;
  return peer.overTcp ? `${path} over tcp` : path;
}

/** mesh, or another build of it (a name, not the object: a test may run a build of its own). */
function isMesh(impl: OverlayImpl): boolean {
  return impl.name === meshImpl.name;
}

export interface MoveIntoBlockedResult {
  /** ms from a's move into the UDP-blocked network to its first ping reply from b, and b's from a; null: none. */
  aToBMs: number | null;
  bToAMs: number | null;
  /** a's path to b afterwards, as `mesh status` says it (mesh only). */
  path: string;
  detail: string;
}

/**
 * a talks to b directly behind an ordinary NAT, then moves (a new LAN address, as a laptop joining a hotel network)
 * behind a router that forwards no UDP but DNS. Both ping at 10 Hz throughout; the figures are the first replies
 * after the move.
 */
export async function moveIntoUdpBlockedScenario(
  impl: OverlayImpl,
  options: UdpBlockedOptions = {},
): Promise<MoveIntoBlockedResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const lab = await Lab.create(options.scope);
  try {
    const hl = await lab.publicHost('lh');
    const hb = await lab.publicHost('b');
    const home = await lab.natRouter('masq');
    const hotel = await lab.natRouter('masq');
    await blockUdp(lab, hotel);
    const ha = await lab.hostBehind(home, 'a');
    const net = await OverlayNet.create(lab);
    await net.start(hl, { name: 'lh', lighthouse: true, relay: true, impl, tunDisabled: true });
    const b = await net.start(hb, { name: 'b', impl });
    const a = await net.start(ha, { name: 'a', impl, relays: [] });
    const aPing = await lab.spawn(ha, 'stdbuf', ['-oL', 'ping', '-D', '-n', '-i', '0.1', '-W', '1', b.vpnIp]);
    const bPing = await lab.spawn(hb, 'stdbuf', ['-oL', 'ping', '-D', '-n', '-i', '0.1', '-W', '1', a.vpnIp]);
    let aToBMs: number | null = null;
    let bToAMs: number | null = null;
    try {
      await waitFor(
        () => (firstReplyAt(aPing.log(), 0) !== null && firstReplyAt(bPing.log(), 0) !== null ? true : null),
        {
          timeoutMs: 10_000,
          intervalMs: 50,
          what: `a and b talking before the move\n${lab.logTails(30)}`,
        },
      );
      // Timed from the end of the move: requests sent while it was under way may still have left by the old path.
      await lab.moveBehind(ha, hotel);
      const movedAt = Date.now();
      await waitFor(
        () => {
          aToBMs = firstReplyAfter(aPing.log(), movedAt);
          bToAMs = firstReplyAfter(bPing.log(), movedAt);
          return aToBMs !== null && bToAMs !== null ? true : null;
        },
        { timeoutMs, intervalMs: 50, what: 'first replies after the move' },
      ).catch(() => undefined);
    } finally {
      await aPing.kill();
      await bPing.kill();
    }
    const path = aToBMs === null ? 'no path' : isMesh(impl) ? await pathTo(lab, a, b) : 'relayed';
    return { aToBMs, bToAMs, path, detail: aToBMs === null || bToAMs === null ? lab.logTails(40) : '' };
  } finally {
    await lab.destroy();
  }
}

/** ms from `since` (epoch ms) to the first reply of `ping -D` to a request sent after it (arrival - rtt), or null. */
function firstReplyAfter(log: string, since: number): number | null {
  for (const m of log.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from .* time=([\d.]+) ms/gm)) {
    const at = Number(m[1]) * 1000;
    if (at - Number(m[2]) > since) return Math.round(at - since);
  }
  return null;
}
