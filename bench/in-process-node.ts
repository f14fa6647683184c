// The in-process benches' nodes (bench/lh-datagram-cost.ts, bench/lone-packet.ts): a build's modules loaded from its
// own dist, so one process can hold two builds side by side (each with its own module instances and addon), and a
// MeshNode of that build started on the daemon's own UDP class, set up as the start-up warm-up sets up its
// throwaway nodes (pkg/daemon/throwaway-node.ts, fed the build's modules, so an older build without that file works
// too).

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import type { NodeSetupModules, ThrowawayCa } from '../pkg/daemon/throwaway-node.js';
import { throwawayCa, throwawayNodeSetup } from '../pkg/daemon/throwaway-node.js';
import type { NodeSetup } from '../pkg/daemon/node.js';
import type { UdpConn } from '../pkg/udp/udp-conn.js';

/** One build's modules (types from this tree: a bench only uses what every build it compares has). */
export interface BuildModules extends NodeSetupModules {
  readonly cert: typeof import('../pkg/cert/index.js');
  readonly clock: typeof import('../pkg/clock/clock.js');
  readonly logger: typeof import('../pkg/log/logger.js');
  readonly daemon: typeof import('../pkg/daemon/daemon.js');
  readonly node: typeof import('../pkg/daemon/node.js');
  readonly ipv4: typeof import('../pkg/ip/ipv4.js');
  readonly header: typeof import('../pkg/header/header.js');
  readonly outside: typeof import('../pkg/datapath/outside.js');
  readonly meta: typeof import('../pkg/lighthouse/meta.js');
  readonly addr: typeof import('../pkg/udp/addr.js');
  readonly tunPair: typeof import('../pkg/tun/socketpair.js');
  readonly warmUpPackets: typeof import('../pkg/daemon/warm-up-packets.js');
}

/** Loads the modules of the build in `dist` (a tree's dist folder, absolute or relative to the working directory). */
export async function loadBuild(dist: string): Promise<BuildModules> {
  const load = <T>(path: string): Promise<T> => import(pathToFileURL(resolve(dist, path)).href) as Promise<T>;
  return {
    cert: await load('pkg/cert/index.js'),
    clock: await load('pkg/clock/clock.js'),
    config: await load('pkg/config/index.js'),
    firewall: await load('pkg/firewall/firewall.js'),
    identity: await load('pkg/handshake/identity.js'),
    firewallSetup: await load('pkg/daemon/firewall-setup.js'),
    staticHosts: await load('pkg/daemon/static-hosts.js'),
    logger: await load('pkg/log/logger.js'),
    daemon: await load('pkg/daemon/daemon.js'),
    node: await load('pkg/daemon/node.js'),
    ipv4: await load('pkg/ip/ipv4.js'),
    header: await load('pkg/header/header.js'),
    outside: await load('pkg/datapath/outside.js'),
    meta: await load('pkg/lighthouse/meta.js'),
    addr: await load('pkg/udp/addr.js'),
    tunPair: await load('pkg/tun/socketpair.js'),
    warmUpPackets: await load('pkg/daemon/warm-up-packets.js'),
  };
}

/** A CA of the build's for a bench's nodes, valid an hour either side of now. */
export function benchCa(mods: BuildModules, name: string): ThrowawayCa {
  return throwawayCa(mods, name, Date.now());
}

/** One bench node: its overlay address, its socket and TUN, and the config keys of its role. */
export interface InProcessNode {
  /** Certificate name and config source: `${bench} ${ip}`. */
  readonly bench: string;
  /** Overlay address; the certificate holds it with a /24. */
  readonly ip: string;
  /** Its socket (daemon.openUnderlay), listened on at its port. */
  readonly udp: UdpConn;
  readonly tun?: NodeSetup['tun'];
  /** Config keys of its role (static_host_map, lighthouse, tun, ...); listen is set from `udp`. */
  readonly config: Record<string, unknown>;
}

/** Starts a node of the build `mods` with a certificate signed by `ca` (systemClock, logging at error, discarded). */
export async function startInProcessNode(
  mods: BuildModules,
  ca: ThrowawayCa,
  o: InProcessNode,
): Promise<import('../pkg/daemon/node.js').MeshNode> {
  const setup = await throwawayNodeSetup(mods, ca, {
    name: `${o.bench} ${o.ip}`,
    vpnCidr: `${o.ip}/24`,
    settings: { listen: { host: '127.0.0.1', port: o.udp.localPort }, ...o.config },
    source: `${o.bench}.yml`,
    udp: o.udp,
    tun: o.tun,
    clock: mods.clock.systemClock,
    log: benchLog(mods),
  });
  return mods.node.MeshNode.start(setup);
}

/** The build's socket on 127.0.0.1, a port the kernel picks (the daemon's own UDP class). */
export function openBenchUnderlay(mods: BuildModules): Promise<UdpConn> {
  return mods.daemon.openUnderlay(
    { host: '127.0.0.1', port: 0, batch: 64, readBuffer: 0, writeBuffer: 0, gro: true },
    benchLog(mods),
  );
}

/** A logger of the build's at error level that writes nowhere. */
function benchLog(mods: BuildModules): import('../pkg/log/logger.js').Logger {
  return new mods.logger.Logger('error', 'text', () => {}, true);
}
