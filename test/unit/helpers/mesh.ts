// In-process mesh nodes for unit tests: real MeshNodes (real handshakes, pipelines, firewall and timers) on a
// MemoryNetwork underlay with MemoryTun devices. Every node is stopped when its test ends. A node's timers and its
// firewall run on its `clock` (the mesh's by default): the system's, or a ManualClock the test advances with
// wait.ts advanceUntil()/advanceFor(), so protocol timers pass without sleeping.
//
//   const clock = new ManualClock(1_000_000);
//   const mesh = new TestMesh(t, { clock });
//   const a = await mesh.node({ vpnIp: '10.99.0.1', peers: ['10.99.0.2'] });
//   const b = await mesh.node({ vpnIp: '10.99.0.2' });
//   a.tun.inject(udpPacket({ src: a.vpnIpText, dst: b.vpnIpText }));
//   await advanceUntil(clock, () => b.tun.written.length === 1);

import { systemClock, type Clock } from '../../../pkg/clock/clock.js';
import { validateConfig, type MeshConfig } from '../../../pkg/config/index.js';
import { localNets } from '../../../pkg/daemon/firewall-setup.js';
import { MeshNode, type NodeSetup } from '../../../pkg/daemon/node.js';
import { resolveStaticHosts } from '../../../pkg/daemon/static-hosts.js';
import { Firewall, parseFirewallRules } from '../../../pkg/firewall/firewall.js';
import type { HostInfo } from '../../../pkg/hostmap/hostinfo.js';
import { parseIpv4, type Ipv4 } from '../../../pkg/ip/ipv4.js';
import { parseVpnIp } from '../../../pkg/ip/vpn-ip.js';
import { escapedErrors } from '../../../pkg/log/escaped-errors.js';
import { Logger, type LogLevel } from '../../../pkg/log/logger.js';
import type { Pki } from '../../../pkg/daemon/pki.js';
import type { LocalNetwork } from '../../../pkg/punchy/punch-needed.js';
import { MemoryTun } from '../../../pkg/tun/memory.js';
import { addrKey, udpAddr, type UdpAddr } from '../../../pkg/udp/addr.js';
import { MemoryNetwork, type MemoryUdp } from '../../../pkg/udp/memory-udp.js';
import { udpPacket } from './packets.js';
import { makeHostCert, makeTestCa, testPki, type TestCa, type TestHostCert } from './pki.js';
import { until } from './wait.js';
import { deepMerge } from '../../e2e/lab/overlay-config.js';

export const VPN_PREFIX = 24;

export const ALLOW_ALL_FIREWALL = {
  outbound: [{ port: 'any', proto: 'any', host: 'any' }],
  inbound: [{ port: 'any', proto: 'any', host: 'any' }],
};

/** The underlay address a node gets on the MemoryNetwork: 198.51.100.<last octet of its VPN IP>:4242. */
export function underlayOf(vpnIp: string): UdpAddr {
  return udpAddr(`198.51.100.${vpnIp.split('.')[3]}`, 4242);
}

export interface TestNodeOptions {
  vpnIp: string;
  name?: string;
  /** VPN IPs put in static_host_map at their `underlayOf` address. */
  peers?: string[];
  /** More static_host_map entries (vpnIp -> "ip:port" list); replace `peers` entries for the same IP. */
  staticHostMap?: Record<string, string[]>;
  /** Our certificate; default: signed by the mesh CA for `vpnIp`/24. */
  cert?: TestHostCert;
  /** CAs we trust; default: the mesh CA. */
  trusted?: TestCa[];
  /** The node's Pki as built (certificates of either version, CA pool); replaces `cert` and `trusted`. */
  pki?: Pki;
  /** Raw config keys deep-merged over the defaults (before validation). */
  config?: Record<string, unknown>;
  /** Default: the mesh's clock. */
  clock?: Clock;
  /** Default: a new MemoryTun. null: no TUN (a relay or lighthouse). */
  tun?: MemoryTun | null;
  /** 'memory' (default): bound on the mesh's MemoryNetwork at `underlay`. 'kernel': the node opens a real socket. */
  udp?: 'memory' | 'kernel';
  /** What the daemon adds to an in-process node's setup: the TCP listener, the lighthouse's second port, and where
   * port mapping finds its gateway (with config portmap.enabled: a fake one on loopback, portmap-node-mesh.test.ts). */
  setup?: Pick<NodeSetup, 'tcp' | 'secondPort' | 'openSecondPort' | 'portmapGateway'>;
  underlay?: UdpAddr;
  logLevel?: LogLevel;
  /** A Logger shared with other nodes (its level wins over logLevel); default: the node's own, writing to `logs`. */
  log?: Logger;
  /** The networks the node's interfaces are on (default: the test machine's own). */
  localNetworks?: LocalNetwork[];
}

export interface TestNode {
  node: MeshNode;
  vpnIp: Ipv4;
  vpnIpText: string;
  /** The MemoryTun (throws for a node started with tun: null). */
  tun: MemoryTun;
  /** The memory socket (null for a kernel socket). */
  memUdp: MemoryUdp | null;
  addr: UdpAddr;
  cert: TestHostCert;
  config: MeshConfig;
  /** The node's log lines (none when it was given a shared `log`). */
  logs: string[];
  /** The tunnel to a peer (by any of its overlay addresses, IPv4 or IPv6 text), if one is up. */
  tunnelTo(vpnIp: string | TestNode): HostInfo | undefined;
  stop(): Promise<void>;
}

interface AfterHook {
  after(fn: () => unknown): void;
}

export class TestMesh {
  readonly net = new MemoryNetwork();
  readonly ca: TestCa;
  /**
   * Exceptions the sockets' guards caught (pkg/log/escaped-errors.ts) while this mesh ran. The daemon survives
   * them, and those its pipelines catch themselves (drops{outside-exception}, drops{inside-exception}), so a test
   * would pass without noticing: unless expectEscapedErrors() was called, the test fails if there was any.
   */
  readonly escaped: Array<{ source: string; error: unknown }> = [];
  private escapedExpected = false;
  private readonly nodes: Array<{ name: string; node: MeshNode; stop: () => Promise<void> }> = [];

  /** The clock of nodes started without one of their own. */
  readonly clock: Clock;

  constructor(
    private readonly t: AfterHook,
    opts: { ca?: TestCa; clock?: Clock } = {},
  ) {
    this.ca = opts.ca ?? makeTestCa();
    this.clock = opts.clock ?? systemClock;
    const unwatch = escapedErrors.watch((source, error) => this.escaped.push({ source, error }));
    // Registered first, so it runs first: it stops the nodes itself, so exceptions while stopping count too.
    t.after(async () => {
      try {
        await Promise.all(this.nodes.map((n) => n.stop()));
      } finally {
        unwatch();
      }
      if (!this.escapedExpected) this.assertNoExceptions();
    });
  }

  /** For tests that provoke exceptions on purpose: they stay recorded in `escaped` but do not fail the test. */
  expectEscapedErrors(): void {
    this.escapedExpected = true;
  }

  /** Exceptions the nodes' pipelines caught and counted as drops (logged at debug level only). */
  caughtExceptions(): string[] {
    const found: string[] = [];
    for (const { name, node } of this.nodes) {
      const drops = node.counters.snapshot().drops ?? {};
      for (const [label, n] of Object.entries(drops))
        if (label.endsWith('-exception') && n > 0) found.push(`${name}: drops{${label}}=${n}`);
    }
    return found;
  }

  private assertNoExceptions(): void {
    const caught = this.caughtExceptions();
    if (this.escaped.length === 0 && caught.length === 0) return;
    const lines = [
      `exceptions were thrown while the mesh ran (call expectEscapedErrors() if the test means it):`,
      ...caught,
    ];
    if (this.escaped.length > 0) {
      const { source, error } = this.escaped[0];
      const first = error instanceof Error ? (error.stack ?? error.message) : String(error);
      lines.push(`${this.escaped.length} escaped into the sockets' guards; the first (${source}): ${first}`);
    }
    throw new Error(lines.join('\n'));
  }

  async node(o: TestNodeOptions): Promise<TestNode> {
    const cert = o.cert ?? makeHostCert(this.ca, { name: o.name, ip: `${o.vpnIp}/${VPN_PREFIX}` });
    const staticHostMap: Record<string, string[]> = {};
    for (const peer of o.peers ?? []) staticHostMap[peer] = [addrKey(underlayOf(peer))];
    Object.assign(staticHostMap, o.staticHostMap);
    const raw = deepMerge(
      {
        pki: { ca: (o.trusted ?? [this.ca]).map((ca) => ca.pem).join(''), cert: cert.certPem, key: cert.keyPem },
        static_host_map: staticHostMap,
        listen: { host: '0.0.0.0', port: 4242 },
        firewall: ALLOW_ALL_FIREWALL,
        logging: { level: o.logLevel ?? 'info' },
        // Off unless a test turns it on: an in-process node must not ask the test machine's own gateway to map a
        // port (NAT-PMP, UPnP on the real network), and its real retry timers would hold the test's process ~2 s.
        portmap: { enabled: false },
      },
      o.config ?? {},
    );
    const { config } = validateConfig(raw, undefined, `${o.name ?? o.vpnIp}.yml`);
    const pki = o.pki ?? testPki(cert, o.trusted ?? [this.ca], config.pki.blocklist);
    // IPv4 local networks as ever; the IPv6 ones (a v2 certificate's) from its networks, as the daemon does.
    const { vpnNetworks, unsafeNetworks } = pki.identity;
    const firewall = new Firewall(parseFirewallRules(config.firewall), {
      clock: o.clock ?? this.clock,
      localNets: localNets(pki),
      vpnNetworks,
      unsafeNetworks,
    });
    const staticHosts = await resolveStaticHosts(config.staticHostMap, pki.identity.vpnNetworks);
    const logs: string[] = [];
    const log = o.log ?? new Logger(config.logging.level, 'text', (line) => logs.push(line), true);
    const addr = o.underlay ?? underlayOf(o.vpnIp);
    const memUdp = (o.udp ?? 'memory') === 'memory' ? this.net.bind(addr.address, addr.port) : null;
    const tun = o.tun === undefined ? new MemoryTun({ name: `mem-${o.name ?? o.vpnIp}` }) : o.tun;
    const node = await MeshNode.start({
      config,
      pki,
      firewall,
      staticHosts,
      log,
      clock: o.clock ?? this.clock,
      udp: memUdp ?? undefined,
      tun,
      watchAddresses: false,
      localNetworks: o.localNetworks ? () => o.localNetworks! : undefined,
      ...o.setup,
    });
    let stopped: Promise<void> | null = null;
    const stop = (): Promise<void> => (stopped ??= node.stop());
    this.nodes.push({ name: o.name ?? o.vpnIp, node, stop });
    this.t.after(stop);
    return {
      node,
      vpnIp: parseIpv4(o.vpnIp),
      vpnIpText: o.vpnIp,
      get tun(): MemoryTun {
        if (!tun) throw new Error(`${o.vpnIp} has no tun`);
        return tun;
      },
      memUdp,
      addr: memUdp ? addr : udpAddr(o.underlay?.address ?? '::1', node.udp.localPort),
      cert,
      config,
      logs,
      tunnelTo: (peer) => node.hostmap.get(parseVpnIp(typeof peer === 'string' ? peer : peer.vpnIpText)),
      stop,
    };
  }
}

/**
 * Sends one packet from `a` to `b` through the TUNs and waits until it comes out of b's: the tunnel is up. Nodes on
 * a ManualClock wait in simulated time (the clock is advanced), others in real time.
 */
export async function connect(a: TestNode, b: TestNode, payload = 'hello'): Promise<void> {
  const before = b.tun.written.length;
  a.tun.inject(udpPacket({ src: a.vpnIpText, dst: b.vpnIpText, payload }));
  const up = (): boolean => b.tun.written.length > before && a.tunnelTo(b) !== undefined && b.tunnelTo(a) !== undefined;
  const what = (): string => `a packet ${a.vpnIpText} -> ${b.vpnIpText}\n${a.logs.join('\n')}\n${b.logs.join('\n')}`;
  await until(a.node.clock, up, { what });
}

/** Two nodes with each other as peers and the tunnel between them up. */
export interface ConnectedPair {
  mesh: TestMesh;
  a: TestNode;
  b: TestNode;
  /** a's tunnel to b. */
  ab: HostInfo;
  /** b's tunnel to a. */
  ba: HostInfo;
}

/** Nodes a and b (10.99.0.1, 10.99.0.2 unless given) on a new mesh, connected (connect): the data-path tests' start. */
export async function connectedPair(t: AfterHook, [ipA, ipB] = ['10.99.0.1', '10.99.0.2']): Promise<ConnectedPair> {
  const mesh = new TestMesh(t);
  const a = await mesh.node({ vpnIp: ipA, name: 'a', peers: [ipB] });
  const b = await mesh.node({ vpnIp: ipB, name: 'b', peers: [ipA] });
  await connect(a, b);
  return { mesh, a, b, ab: a.tunnelTo(b)!, ba: b.tunnelTo(a)! };
}

export { deepMerge };
