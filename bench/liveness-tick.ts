// What the once-a-second liveness check costs a busy lighthouse, in process (issue 19: the lighthouse's steady CPU;
// docs/state-machines.md, "Liveness"): N tunnels (HostInfo objects of the build measured, as the node holds them),
// each of which hears a host update and sends its ack every 10 s (the ack files the tunnel's check through the seal
// batch's accounting, SealAccounting.sent, as the node's sends do), their phases spread over the 10 s, and
// checkLiveness run once per simulated second on a ManualClock. Steady state: every check passes (the update came
// in), so no test request is sealed. Reports the CPU of the checkLiveness calls per tick (process.cpuUsage over all
// ticks after the warm ones, and the median and p90 of the ticks' wall times); --thrash-kb N writes N KiB before each
// tick, as the rest of a second's work does to the caches.
//
//   node dist/bench/liveness-tick.js [--tunnels N] [--seconds S] [--trials T] [--thrash-kb N] [--build name=DIST ...]
//
// --build (repeatable; default: this tree's dist): each build runs in a child process of its own, the builds
// alternating --trials times, so before/after compare within one run. In-process and single-threaded: no bench lock.

import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { alternateBuilds, parseBuilds } from './alternate-builds.js';
import type { DataPathContext } from '../pkg/datapath/context.js';
import type { PeerCertBytes } from '../pkg/cert/index.js';
import type { FirewallPeer } from '../pkg/firewall/firewall.js';
import type { HostInfo, TunnelKeys } from '../pkg/hostmap/hostinfo.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** How often each tunnel's peer sends its update and gets the ack: a node's lighthouse interval (10 s). */
const UPDATE_EVERY_S = 10;
/** Ticks before the measured ones: the wheel filled, the code optimized. */
const WARM_TICKS = 30;
const ALIVE_MS = 5000;
const STAND_INS = {
  cert: {} as PeerCertBytes,
  peer: {} as FirewallPeer,
  keys: {} as TunnelKeys,
};
const PENDING_MS = 10_000;

const { values } = parseArgs({
  options: {
    tunnels: { type: 'string', default: '40000' },
    seconds: { type: 'string', default: '120' },
    trials: { type: 'string', default: '3' },
    'thrash-kb': { type: 'string', default: '0' },
    build: { type: 'string', multiple: true, default: [] },
    child: { type: 'string' },
  },
});

if (values.child !== undefined) {
  console.log(await measure(values.child, Number(values.tunnels), Number(values.seconds), Number(values['thrash-kb'])));
  process.exit(0);
}

const childArgs = (['tunnels', 'seconds', 'thrash-kb'] as const).flatMap((k) => [`--${k}`, String(values[k])]);
alternateBuilds(
  fileURLToPath(import.meta.url),
  parseBuilds(values.build, resolve(HERE, '..')),
  Number(values.trials),
  childArgs,
);

/** One build's N tunnels checked for `seconds` ticks after the warm ones; returns the result line. */
async function measure(dist: string, n: number, seconds: number, thrashKb: number): Promise<string> {
  const load = <T>(path: string): Promise<T> => import(pathToFileURL(resolve(dist, path)).href) as Promise<T>;
  const { ManualClock } = await load<typeof import('../pkg/clock/clock.js')>('pkg/clock/clock.js');
  const { checkLiveness } = await load<typeof import('../pkg/datapath/liveness.js')>('pkg/datapath/liveness.js');
  const { LivenessWheel } = await load<typeof import('../pkg/datapath/liveness-wheel.js')>(
    'pkg/datapath/liveness-wheel.js',
  );
  const { SealAccounting } = await load<typeof import('../pkg/datapath/tunnel-sender.js')>(
    'pkg/datapath/tunnel-sender.js',
  );

  const clock = new ManualClock(1_000_000);
  const byPrimary = new Map<HostInfo['vpnIp'], HostInfo>();
  const { udpAddr } = await load<typeof import('../pkg/udp/addr.js')>('pkg/udp/addr.js');
  const remote = udpAddr('192.0.2.1', 4242);
  const { HostInfo: HostInfoClass } =
    await load<typeof import('../pkg/hostmap/hostinfo.js')>('pkg/hostmap/hostinfo.js');
  const hosts: HostInfo[] = [];
  for (let i = 0; i < n; i++) {
    // The node's own HostInfo (its shape, size and replay window, so as many cache lines a check as a lighthouse's);
    // liveness reads neither keys, certificate nor firewall peer, so those are one stand-in shared by all.
    const host = new HostInfoClass({
      localIndex: i + 1,
      remoteIndex: i + 1,
      vpnIp: 0x64400000 + i,
      ...STAND_INS,
      handshakeTime: 0,
      remote,
      initiator: false,
      now: clock.now(),
    });
    hosts.push(host);
    byPrimary.set(host.vpnIp, host);
  }
  const ctx = {
    clock,
    hostmap: { byPrimary },
    pipelines: { liveness: new LivenessWheel() },
    timers: { aliveIntervalMs: ALIVE_MS, pendingDeletionIntervalMs: PENDING_MS },
    counters: { inc: () => {} },
    log: { info: () => {}, debug: () => {} },
    closeTunnel: () => {
      throw new Error('a tunnel was found dead: the steady state is broken');
    },
  } as unknown as DataPathContext;
  const accounting = new SealAccounting(ctx);
  const thrash = Buffer.alloc(thrashKb * 1024);
  const perTick: number[] = [];
  let cpu = { user: 0, system: 0 };
  for (let s = 0; s < WARM_TICKS + seconds; s++) {
    // This second's tunnels: their update came in, their ack went out (filing a check when none is filed).
    for (let i = s % UPDATE_EVERY_S; i < n; i += UPDATE_EVERY_S) {
      const host = hosts[i]!;
      host.packetsIn++;
      accounting.sent(host, 1, 80, false, remote);
    }
    clock.advance(1000);
    if (thrash.length > 0) thrash.fill(s & 0xff);
    const measured = s >= WARM_TICKS;
    const before = measured ? process.cpuUsage() : null;
    const t0 = process.hrtime.bigint();
    checkLiveness(ctx);
    const wall = Number(process.hrtime.bigint() - t0) / 1000;
    if (before !== null) {
      const used = process.cpuUsage(before);
      cpu = { user: cpu.user + used.user, system: cpu.system + used.system };
      perTick.push(wall);
    }
  }
  perTick.sort((a, b) => a - b);
  const q = (f: number): number => perTick[Math.min(perTick.length - 1, Math.floor(perTick.length * f))]!;
  const filed = ctx.pipelines.liveness.size;
  return (
    `${((cpu.user + cpu.system) / seconds).toFixed(0)} us CPU per tick (${n} tunnels, ${filed} filed); ` +
    `wall median ${q(0.5).toFixed(0)} us, p90 ${q(0.9).toFixed(0)}`
  );
}
