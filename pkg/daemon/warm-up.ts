// A first contact through a lighthouse, run once in process between throwaway nodes after start-up, so a running
// daemon's first real contact runs code V8 has already seen (issue 19: without it, the contact's ~10 ms of CPU was
// mostly the interpreter collecting type feedback on first call). A lighthouse and two nodes with their own CA,
// certificates, hostmaps, counters and firewalls: `a` queries the lighthouse for `b`, handshakes and exchanges a few
// packets. They run on the daemon's own I/O classes, so the data path's call sites see no other class than in
// production (in-memory twins made V8 throw out ~15 optimized data-path functions per node, "wrong map", when the
// warm-up followed real traffic): the daemon's UDP class on sockets bound to 127.0.0.1 port 0, and LinuxTun on one
// end of a socketpair (pkg/tun/socketpair.ts). Nothing is sent on the real socket or TUN and nothing is left in the
// real node: all three are stopped and their descriptors closed before this resolves. It costs ~20-60 ms of CPU,
// once per process.

import {
  CaPool,
  certificateToPem,
  encodePem,
  fingerprint,
  generateEd25519KeyPair,
  generateX25519KeyPair,
  signCertificate,
  X25519_PRIVATE_KEY_BANNER,
} from '../cert/index.js';
import { after, unixMs, type Clock } from '../clock/clock.js';
import { validateConfig } from '../config/index.js';
import { Firewall, parseFirewallRules } from '../firewall/firewall.js';
import { localIdentity } from '../handshake/identity.js';
import { parseCidr, parseIpv4 } from '../ip/ipv4.js';
import type { VpnIp } from '../ip/vpn-ip.js';
import { Logger } from '../log/logger.js';
import { TunPair } from '../tun/socketpair.js';
import type { UdpConn } from '../udp/udp-conn.js';
import { openUnderlay } from './daemon.js';
import { localNets } from './firewall-setup.js';
import { MeshNode, type NodeSetup } from './node.js';
import { throwawayCa, throwawayNodeSetup, type NodeSetupModules, type ThrowawayCa } from './throwaway-node.js';
import { warmUpPacket } from './warm-up-packets.js';
import { QuietGate } from './warm-up-pacer.js';
import { WarmUpTimedOut, type RealDataPath } from './warm-up-schedule.js';
import { resolveStaticHosts } from './static-hosts.js';

/** The daemon's own modules, which the throwaway nodes are made with (throwaway-node.ts). */
const MODULES: NodeSetupModules = {
  cert: {
    CaPool,
    certificateToPem,
    encodePem,
    fingerprint,
    generateEd25519KeyPair,
    generateX25519KeyPair,
    signCertificate,
    X25519_PRIVATE_KEY_BANNER,
  },
  config: { validateConfig },
  firewall: { Firewall, parseFirewallRules },
  identity: { localIdentity },
  firewallSetup: { localNets },
  staticHosts: { resolveStaticHosts },
  ipv4: { parseCidr },
};
/**
 * Overlay addresses of the throwaway nodes (only their own CA knows them). `a` finds `b` through the lighthouse, as a
 * real first contact does: query, answer, punch notification, handshake.
 */
const LH = { vpnIp: '100.127.255.3' } as const;
const PAIR = [{ vpnIp: '100.127.255.1' }, { vpnIp: '100.127.255.2' }] as const;
type Role = typeof LH | (typeof PAIR)[number];
/** Their sockets: loopback, a port the kernel picks. */
const UNDERLAY_HOST = '127.0.0.1';
/** Datagrams per receive batch: a throwaway node gets one or two at a time (the class is what matters). */
const UDP_BATCH = 4;
const TUN_MTU = 1300;
/**
 * Data packets each way after the handshake: the first ones a real contact's queued packet and its reply take, of
 * each kind a contact starts with (warm-up-packets.ts).
 */
const DATA_PACKETS = 4;
/** The warm-up gives up (and stops the pair) after this long: it is an optimisation, never a wait. */
const TIMEOUT_MS = 2000;
/** A real data path that never carries anything (a warm-up run on its own, as in tests). */
const NO_REAL_PATH: RealDataPath = { quietFor: () => true };

interface Throwaway {
  node: MeshNode;
  udp: UdpConn;
  tun: TunPair;
}

/** A throwaway node before its start: its keys, certificate, config, firewall and open sockets. */
interface Prepared {
  readonly setup: NodeSetup;
  readonly udp: UdpConn;
  readonly tun: TunPair;
}

/**
 * Prepares one throwaway node (`lhPort` is the throwaway lighthouse's, 0 for the lighthouse itself). Its start is a
 * step of its own: in one step the two held the event loop for 15-25 ms in a cold process (docs/state-machines.md).
 */
async function prepareThrowaway(
  ca: ThrowawayCa,
  self: Role,
  lhPort: number,
  clock: Clock,
  opened: Array<{ close(): Promise<void> }>,
): Promise<Prepared> {
  const log = new Logger('error', 'text', () => {}, true);
  // The daemon's own classes: whatever openUnderlay picks for the real socket, a LinuxTun for the real TUN.
  const udp = await openUnderlay(
    { host: UNDERLAY_HOST, port: 0, batch: UDP_BATCH, readBuffer: 0, writeBuffer: 0, gro: true },
    log,
  );
  opened.push(udp);
  const port = udp.localPort;
  const tun = TunPair.open('warm-up', TUN_MTU);
  opened.push(tun);
  const setup = await throwawayNodeSetup(MODULES, ca, {
    name: `warm-up ${self.vpnIp}`,
    vpnCidr: `${self.vpnIp}/30`,
    settings: {
      static_host_map: self === LH ? {} : { [LH.vpnIp]: [`${UNDERLAY_HOST}:${lhPort}`] },
      // Only the loopback address is reported: traffic stays on loopback.
      lighthouse:
        self === LH
          ? { am_lighthouse: true }
          : {
              hosts: [LH.vpnIp],
              advertise_addrs: [`${UNDERLAY_HOST}:${port}`],
              local_allow_list: { '0.0.0.0/0': false, '::/0': false },
            },
      listen: { host: UNDERLAY_HOST, port, batch: UDP_BATCH },
    },
    source: 'warm-up.yml',
    udp,
    tun: tun.tun,
    clock,
    log,
  });
  return { setup, udp, tun };
}

async function startThrowaway(prepared: Prepared): Promise<Throwaway> {
  const node = await MeshNode.start(prepared.setup);
  return { node, udp: prepared.udp, tun: prepared.tun };
}

/** Resolves when `node` has a tunnel to `vpnIp`. */
function tunnelUp(node: MeshNode, vpnIp: string): Promise<void> {
  const ip = parseIpv4(vpnIp) as VpnIp;
  if (node.hostmap.get(ip)) return Promise.resolve();
  return new Promise((resolve) => {
    const off = node.hostmap.onInstalled(() => {
      if (!node.hostmap.get(ip)) return;
      off();
      resolve();
    });
  });
}

/** Resolves when the node has written `count` packets to `tun`, or rejects after the timeout. */
function written(tun: TunPair, count: number, timeout: Promise<never>): Promise<void> {
  const done = new Promise<void>((resolve) => {
    if (tun.written >= count) resolve();
    else tun.onWrite(() => tun.written >= count && resolve());
  });
  return Promise.race([done, timeout]);
}

/** Resolves after the next datagram `udp` receives has been handled by its node (listeners run in order added). */
function datagramArrivals(udp: UdpConn): () => Promise<void> {
  const waiting = new Set<() => void>();
  udp.onPacket(() => {
    const now = [...waiting];
    waiting.clear();
    for (const resolve of now) resolve();
  });
  return () => new Promise((resolve) => waiting.add(resolve));
}

/** Runs the warm-up; resolves once both throwaway nodes are stopped, whether it completed or not. */
export async function warmUp(clock: Clock, realPath: RealDataPath = NO_REAL_PATH): Promise<void> {
  const ca = throwawayCa(MODULES, 'warm-up CA', unixMs(clock));
  const gate = new QuietGate(clock, realPath);
  const started: Throwaway[] = [];
  const opened: Array<{ close(): Promise<void> }> = [];
  let cancelTimeout = (): void => {};
  const timeout = new Promise<never>((_, reject) => {
    cancelTimeout = after(clock, TIMEOUT_MS, () => reject(new WarmUpTimedOut(TIMEOUT_MS)));
  });
  timeout.catch(() => {});
  // Every step the warm-up drives waits for the real data path to be quiet first (QuietGate).
  const step = (): Promise<void> => Promise.race([gate.pass(), timeout]);
  // A node's preparation (keys, certificate, config, sockets: ~5-12 ms in a cold process) and its start (~1-3 ms)
  // are two steps.
  const throwaway = async (self: Role, lhPort: number): Promise<Throwaway> => {
    await step();
    const prepared = await prepareThrowaway(ca, self, lhPort, clock, opened);
    await step();
    const node = await startThrowaway(prepared);
    started.push(node);
    return node;
  };
  try {
    const lh = await throwaway(LH, 0);
    const lhPort = lh.udp.localPort;
    const a = await throwaway(PAIR[0], lhPort);
    const b = await throwaway(PAIR[1], lhPort);
    await Promise.race([Promise.all([a, b].map((n) => tunnelUp(n.node, LH.vpnIp))), timeout]);
    // The host updates that follow the lighthouse handshakes: a's query must find b. Checked after each datagram
    // the lighthouse handles; the timeout bounds the wait.
    const lighthouse = lh.node.lighthouseServer;
    const bIp = parseIpv4(PAIR[1].vpnIp) as VpnIp;
    const nextDatagram = datagramArrivals(lh.udp);
    while ((lighthouse?.reportedOf(bIp).length ?? 0) === 0) await Promise.race([nextDatagram(), timeout]);
    for (let i = 0; i < DATA_PACKETS; i++) {
      await step();
      a.tun.inject(warmUpPacket(PAIR[0].vpnIp, PAIR[1].vpnIp, i, false));
      await written(b.tun, i + 1, timeout);
      await step();
      b.tun.inject(warmUpPacket(PAIR[1].vpnIp, PAIR[0].vpnIp, i, true));
      await written(a.tun, i + 1, timeout);
    }
  } finally {
    cancelTimeout();
    gate.close();
    await Promise.all(started.map((t) => t.node.stop()));
    // What a node that failed to start did not close (each close is idempotent); TUN pairs after their node.
    await Promise.all(opened.map((o) => o.close()));
  }
}
