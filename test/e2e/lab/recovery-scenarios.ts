import { addIpv6Underlay } from './ipv6.js';
import { Lab } from './lab.js';
import type { CleanupScope, Host } from './lab.js';
import { OverlayNet } from './overlay-net.js';
import type { OverlayImpl } from './overlay-node.js';
import { firstReplyMs, measureFirstReplyAfter } from './recovery.js';
import { sleep, waitFor } from './wait.js';

// The recovery cases of issue 15, each built in its own lab and run with one overlay implementation (mesh or
// nebula), each returning the time to the first reply of a 10 Hz overlay ping. Two kinds of figure:
//
//   recovery     ms from the event (a move, a restart, the first packet after an idle spell) to the first reply
//                after it; goal <= 2000 ms.
//   noticed      ms from a peer's SIGKILL until its tunnel is removed; goal <= 2000 ms.
//   first reply  ms from the first echo request on a cold tunnel to its reply, from ping's own numbers (sequence
//                and round trip), so process start-up is not counted; goal <= 30 ms on a LAN.
//
// Every scenario tears its lab down before returning (and `scope`, a node:test context, does so on failure too).
// A scenario whose path never comes back returns ms null after `timeoutMs`, with the nodes' log tails in `detail`.

export interface ScenarioOptions {
  scope?: CleanupScope;
  /** How long to wait for the first reply after the event; default 5000 ms. */
  timeoutMs?: number;
}

export interface ScenarioResult {
  /** Time to first reply (see above), or null: none within timeoutMs. */
  ms: number | null;
  /** What else was seen (replies before the event); the log tails when no reply came. */
  detail: string;
}

export interface Scenario {
  id: string;
  title: string;
  kind: 'recovery' | 'first reply' | 'noticed';
  goalMs: number;
  run(impl: OverlayImpl, options?: ScenarioOptions): Promise<ScenarioResult>;
}

const PUNCHY = { punch: true, respond: true };
const RECOVERY_GOAL_MS = 2000;
const LAN_FIRST_REPLY_GOAL_MS = 30;
/** How long a restarted peer is down. */
const DOWN_MS = 2000;
/** NAT UDP timeouts in the idle case, and the lighthouse interval that keeps the lighthouse's mappings alive within
 * them (the 20 s NAT and 10 s interval, scaled down), and the idle spell: 2.5 NAT timeouts. */
const IDLE_NAT_TIMEOUT_SEC = 4;
const IDLE_LIGHTHOUSE_INTERVAL_SEC = 2;
const IDLE_MS = 10_000;

async function pingUntilReply(lab: Lab, from: Host, target: string, what: string): Promise<void> {
  await waitFor(async () => ((await lab.ping(from, target, { count: 1, timeoutSec: 1 })).ok ? true : null), {
    timeoutMs: 20_000,
    intervalMs: 0,
    what,
  });
}

async function inLab(options: ScenarioOptions, body: (lab: Lab) => Promise<ScenarioResult>): Promise<ScenarioResult> {
  const lab = await Lab.create(options.scope);
  try {
    const result = await body(lab);
    return result.ms === null ? { ...result, detail: `${result.detail}\n${lab.logTails(40)}` } : result;
  } finally {
    await lab.destroy();
  }
}

/**
 * 1. Host c roams from behind router A to behind router B, which is also the NAT of its peer b. B neither hairpins
 * nor routes between its two LANs, so after the move only the relay (the lighthouse) joins c and b.
 */
export function moveBehindPeersNat(
  impl: OverlayImpl,
  sender: 'mover' | 'peer',
  options: ScenarioOptions = {},
): Promise<ScenarioResult> {
  return inLab(options, async (lab) => {
    const lhHost = await lab.publicHost('lh');
    const ra = await lab.natRouter('masq');
    const rb = await lab.natRouter('masq');
    const rbOther = await lab.isolatedLan(rb, '192.168.200.0/24');
    const c = await lab.hostBehind(ra, 'c');
    const b = await lab.hostBehind(rb, 'b');
    const net = await OverlayNet.create(lab);
    await net.start(lhHost, { name: 'lh', lighthouse: true, relay: true, impl, tunDisabled: true });
    const nc = await net.start(c, { name: 'c', impl, punchy: PUNCHY });
    const nb = await net.start(b, { name: 'b', impl, punchy: PUNCHY });
    await pingUntilReply(lab, c, nb.vpnIp, 'the tunnel c -> b');
    await sleep(1000);
    const [from, target] = sender === 'mover' ? [c, nb.vpnIp] : [b, nc.vpnIp];
    const r = await measureFirstReplyAfter(
      lab,
      from,
      target,
      async () => {
        await lab.moveBehind(c, rbOther);
        await lab.flushConntrack(ra);
      },
      { timeoutMs: options.timeoutMs ?? 5000 },
    );
    return { ms: r.recoveryMs, detail: `${r.repliesBefore} replies before the move` };
  });
}

export type RestartVariant = 'same-port' | 'random-port' | 'new-address';

/** a and b behind their own masquerading NATs with a direct tunnel a -> b (a pinging). */
async function directPair(lab: Lab, impl: OverlayImpl) {
  const lhHost = await lab.publicHost('lh');
  const ra = await lab.natRouter('masq');
  const rb = await lab.natRouter('masq');
  const a = await lab.hostBehind(ra, 'a');
  const b = await lab.hostBehind(rb, 'b');
  const net = await OverlayNet.create(lab);
  await net.start(lhHost, { name: 'lh', lighthouse: true, relay: true, impl, tunDisabled: true });
  const na = await net.start(a, { name: 'a', impl, punchy: PUNCHY });
  const nb = await net.start(b, { name: 'b', impl, punchy: PUNCHY });
  await pingUntilReply(lab, a, nb.vpnIp, 'the tunnel a -> b');
  await sleep(1000);
  return { a, b, na, nb };
}

/**
 * 2a-c. a pings b; b is SIGKILLed (so it closes no tunnel: a learns nothing from b itself, as after a crash, a power
 * cut or a lost goodbye), down 2 s, and started again on the same port, on a random port, or behind another NAT (a
 * new underlay address). The figure runs from the restart (the new process being spawned, start-up included) to
 * the first reply a gets.
 */
export function peerRestart(
  impl: OverlayImpl,
  variant: RestartVariant,
  options: ScenarioOptions = {},
): Promise<ScenarioResult> {
  return inLab(options, async (lab) => {
    const rbNew = await lab.natRouter('masq', { name: 'rnew' });
    const { a, b, nb } = await directPair(lab, impl);
    let readyMs = 0;
    const r = await measureFirstReplyAfter(
      lab,
      a,
      nb.vpnIp,
      async () => {
        const t0 = Date.now();
        await nb.restart();
        readyMs = Date.now() - t0;
      },
      {
        timeoutMs: options.timeoutMs ?? 5000,
        beforeEvent: async () => {
          nb.process.killNow();
          // Polled, not awaited on `exited`: lab children are unref'd, so nothing else would keep node running.
          await waitFor(() => !nb.process.running, {
            timeoutMs: 5000,
            intervalMs: 20,
            what: 'b to exit after SIGKILL',
          });
          if (variant === 'random-port') nb.updateConfig({ listen: { port: 0 } });
          if (variant === 'new-address') await lab.moveBehind(b, rbNew);
          await sleep(DOWN_MS);
        },
      },
    );
    return {
      ms: r.recoveryMs,
      detail: `${r.repliesBefore} replies before the kill; the restarted node was ready after ${readyMs} ms`,
    };
  });
}

/**
 * 2d. a pings b; b is SIGKILLed and stays down. The figure is how long a takes to notice: ms from the kill until a
 * logs the tunnel to b as dead and removes it (both implementations log "Tunnel status" with "dead").
 */
export function peerKilledNoticed(impl: OverlayImpl, options: ScenarioOptions = {}): Promise<ScenarioResult> {
  return inLab(options, async (lab) => {
    const { a, na, nb } = await directPair(lab, impl);
    const ping = await lab.spawn(a, 'ping', ['-n', '-i', '0.1', nb.vpnIp]);
    try {
      await sleep(1000);
      const since = na.process.logOffset();
      const killedAt = Date.now();
      nb.process.killNow();
      const dead = new RegExp(`Tunnel status[^\n]*dead[^\n]*${nb.vpnIp.replace(/\./g, '\\.')}\\b`);
      try {
        await na.waitForLog(dead, options.timeoutMs ?? 5000, since);
        return { ms: Date.now() - killedAt, detail: 'a removed the tunnel to b' };
      } catch {
        return { ms: null, detail: `a did not log ${dead} within ${options.timeoutMs ?? 5000} ms` };
      }
    } finally {
      await ping.kill();
    }
  });
}

/**
 * 3. a and b, behind NATs that forget idle UDP flows after 4 s, punch off (the default), tunnel made by a; both stay
 * idle 10 s (the lighthouse updates every 2 s keep only their lighthouse mappings), then one of them sends first.
 * The figure is the first reply of that fresh ping.
 */
export function idlePastNatTimeouts(
  impl: OverlayImpl,
  firstSender: 'a' | 'b',
  options: ScenarioOptions = {},
): Promise<ScenarioResult> {
  return inLab(options, async (lab) => {
    const timeouts = { udpTimeoutSec: IDLE_NAT_TIMEOUT_SEC, udpStreamTimeoutSec: IDLE_NAT_TIMEOUT_SEC };
    const lhHost = await lab.publicHost('lh');
    const ra = await lab.natRouter('masq', timeouts);
    const rb = await lab.natRouter('masq', timeouts);
    const a = await lab.hostBehind(ra, 'a');
    const b = await lab.hostBehind(rb, 'b');
    const net = await OverlayNet.create(lab);
    const common = { impl, punchy: { punch: false, respond: false }, lighthouseInterval: IDLE_LIGHTHOUSE_INTERVAL_SEC };
    await net.start(lhHost, { name: 'lh', lighthouse: true, relay: true, tunDisabled: true, ...common });
    const na = await net.start(a, { name: 'a', ...common });
    const nb = await net.start(b, { name: 'b', ...common });
    await pingUntilReply(lab, a, nb.vpnIp, 'the tunnel a -> b');
    await sleep(IDLE_MS);
    const [from, target] = firstSender === 'a' ? [a, nb.vpnIp] : [b, na.vpnIp];
    const ms = await firstReplyMs(lab, from, target, options.timeoutMs ?? 5000);
    return { ms, detail: `after ${IDLE_MS} ms idle, NAT UDP timeouts ${IDLE_NAT_TIMEOUT_SEC} s` };
  });
}

/** Starts a lighthouse with a tun (so hosts can prove they reached it) and waits until each host has. */
async function lighthouseKnows(
  lab: Lab,
  net: OverlayNet,
  lhHost: Host,
  impl: OverlayImpl,
  hosts: Host[],
  nodeConfig = {},
): Promise<string[]> {
  const lh = await net.start(lhHost, { name: 'lh', lighthouse: true, relay: true, impl });
  const vpnIps: string[] = [];
  for (const host of hosts)
    vpnIps.push((await net.start(host, { name: host.name, impl, punchy: PUNCHY, config: nodeConfig })).vpnIp);
  for (const host of hosts) await pingUntilReply(lab, host, lh.vpnIp, `${host.name} -> lighthouse`);
  // The host updates ride the first packets to the lighthouse; give them a moment to be filed.
  await sleep(300);
  return vpnIps;
}

/** 4. Two nodes behind one NAT, on one LAN: first reply on a cold tunnel between them. */
export function twoBehindOneNat(impl: OverlayImpl, options: ScenarioOptions = {}): Promise<ScenarioResult> {
  return inLab(options, async (lab) => {
    const lhHost = await lab.publicHost('lh');
    const r = await lab.natRouter('masq');
    const a = await lab.hostBehind(r, 'a');
    const b = await lab.hostBehind(r, 'b');
    const net = await OverlayNet.create(lab);
    const [, bIp] = await lighthouseKnows(lab, net, lhHost, impl, [a, b]);
    const ms = await firstReplyMs(lab, a, bIp, options.timeoutMs ?? 5000);
    return { ms, detail: 'a and b on one LAN behind one masquerading NAT' };
  });
}

/**
 * 5. Dual-stack peers: a and b each behind their own masquerading IPv4 NAT, each with an unfiltered global IPv6
 * address, listening on [::]. First reply on a cold tunnel (the lighthouse itself is IPv4-only).
 */
export function dualStackPeers(impl: OverlayImpl, options: ScenarioOptions = {}): Promise<ScenarioResult> {
  return inLab(options, async (lab) => {
    const lhHost = await lab.publicHost('lh');
    const ra = await lab.natRouter('masq');
    const rb = await lab.natRouter('masq');
    const a = await lab.hostBehind(ra, 'a');
    const b = await lab.hostBehind(rb, 'b');
    const v6 = await addIpv6Underlay(lab, [
      { router: ra, hosts: [a] },
      { router: rb, hosts: [b] },
    ]);
    // Neighbour discovery on fresh links can take a moment; the overlay starts once the underlay answers.
    await waitFor(
      async () =>
        (await lab.exec(a, 'ping', ['-6', '-n', '-c', '1', '-w', '1', v6.get('b') as string], { check: false }))
          .exitCode === 0,
      {
        timeoutMs: 8000,
        intervalMs: 0,
        what: 'the lab IPv6 underlay a -> b to route (the environment, not the overlay)',
      },
    );
    const net = await OverlayNet.create(lab);
    const [, bIp] = await lighthouseKnows(lab, net, lhHost, impl, [a, b], { listen: { host: '[::]' } });
    const ms = await firstReplyMs(lab, a, bIp, options.timeoutMs ?? 5000);
    return { ms, detail: `b at ${v6.get('b')} (unfiltered) and behind an IPv4 NAT` };
  });
}

const recovery = { kind: 'recovery', goalMs: RECOVERY_GOAL_MS } as const;
const firstReply = { kind: 'first reply', goalMs: LAN_FIRST_REPLY_GOAL_MS } as const;

/** Every scenario, in the order, for the e2e test and bench/recovery.ts. */
export const RECOVERY_SCENARIOS: Scenario[] = [
  {
    id: 'move-mover-sends',
    title: "1a move behind the peer's own NAT, the mover pings",
    ...recovery,
    run: (i, o) => moveBehindPeersNat(i, 'mover', o),
  },
  {
    id: 'move-peer-sends',
    title: "1b move behind the peer's own NAT, the peer pings",
    ...recovery,
    run: (i, o) => moveBehindPeersNat(i, 'peer', o),
  },
  {
    id: 'restart-same-port',
    title: '2a peer SIGKILLed, restarts on the same port',
    ...recovery,
    run: (i, o) => peerRestart(i, 'same-port', o),
  },
  {
    id: 'restart-random-port',
    title: '2b peer SIGKILLed, restarts on a random port',
    ...recovery,
    run: (i, o) => peerRestart(i, 'random-port', o),
  },
  {
    id: 'restart-new-address',
    title: '2c peer SIGKILLed, restarts with a new underlay address',
    ...recovery,
    run: (i, o) => peerRestart(i, 'new-address', o),
  },
  {
    id: 'killed-noticed',
    title: '2d peer SIGKILLed and gone: a notices (tunnel removed)',
    kind: 'noticed',
    goalMs: RECOVERY_GOAL_MS,
    run: (i, o) => peerKilledNoticed(i, o),
  },
  {
    id: 'idle-b-first',
    title: '3a idle past both NAT timeouts, punch off, b sends first',
    ...recovery,
    run: (i, o) => idlePastNatTimeouts(i, 'b', o),
  },
  {
    id: 'idle-a-first',
    title: '3b idle past both NAT timeouts, punch off, a sends first',
    ...recovery,
    run: (i, o) => idlePastNatTimeouts(i, 'a', o),
  },
  {
    id: 'one-nat-cold',
    title: '4 two nodes behind one NAT, cold tunnel',
    ...firstReply,
    run: (i, o) => twoBehindOneNat(i, o),
  },
  {
    id: 'dual-stack-cold',
    title: '5 dual-stack peers (unfiltered IPv6), cold tunnel',
    ...firstReply,
    run: (i, o) => dualStackPeers(i, o),
  },
];
