// A running mesh node: owns the UDP socket, the TUN device, the tunnel tables, the handshake machine and the
// firewall, and wires the inside and outside pipelines between them. Lighthouse, punchy and relay features hang
// off the hooks of `DataPathContext`. Each collaborator sees the node through the named roles its module declares,
// implemented in daemon/<name>-wiring.ts, and hears of closed tunnels through the hostmap's events.

import { after, every as everyOn, systemClock, unixMs, type Clock } from '../clock/clock.js';
import type { CaPool } from '../cert/index.js';
import type { MeshConfig } from '../config/index.js';
import type { DataPathContext } from '../datapath/context.js';
import { handleTunPacket, sendToHost } from '../datapath/inside.js';
import { checkLiveness } from '../datapath/liveness.js';
import { handleUdpNow, handleUdpPacket } from '../datapath/outside.js';
import { flushSealed, sendOnTunnel } from '../datapath/tunnel-sender.js';
import { Pipelines } from '../datapath/pipelines.js';
import type { Firewall, FirewallRules } from '../firewall/firewall.js';
import { encodeHeader, HEADER_LEN, MessageType, NoSubType, TestSubType } from '../header/header.js';
import type { LocalIdentity } from '../handshake/identity.js';
import { HandshakeManager, type HandshakeEnv } from '../handshake/manager.js';
import { verifyPresented } from '../handshake/peer-cert.js';
import type { HostInfo, TunnelKeys } from '../hostmap/hostinfo.js';
import { HostMap } from '../hostmap/hostmap.js';
import { netContains, parseCidr, type Ipv4Net } from '../ip/ipv4.js';
import { formatVpnIp, parseVpnIp, vpnIpInPrefix, type VpnIp } from '../ip/vpn-ip.js';
import { parseIpPrefix, type IpPrefix } from '../ip/prefix.js';
import { inNetworks } from '../handshake/peer-addrs.js';
import { orderAddresses, type PreferredRange } from '../lighthouse/address-order.js';
import { AllowList } from '../lighthouse/allow-list.js';
import { LighthouseClient } from '../lighthouse/client.js';
import { interfaceNetworks, localAddresses, type LocalAddressOptions } from '../lighthouse/local-addresses.js';
import { decodeMeta, encodeMeta, MetaType, type MetaMessage } from '../lighthouse/meta.js';
import { LighthouseServer } from '../lighthouse/server.js';
import { openLighthouseStore } from '../lighthouse/store/open.js';
import type { LighthouseStore } from '../lighthouse/store/store.js';
import { DIRECT_UPGRADE_INTERVAL_MS, PUNCH_SETTLE_MS, PUNCH_TTL } from '../punchy/nat-punch.js';
import { splitByPunch, type LocalNetwork } from '../punchy/punch-needed.js';
import { LocalNetworksCache } from '../punchy/local-networks-cache.js';
import { PUNCH_INTERVAL_MS, punchHost, sentToRemoteRecently } from '../punchy/punchy.js';
import { SpreadRounds } from '../punchy/spread-rounds.js';
import { UnsafeRouteTable } from '../routing/unsafe-routes.js';
import { SystemRouteTable } from '../routing/system-routes.js';
import { SystemRouteWatch } from '../routing/system-route-watch.js';
import { CalculatedRemotes } from '../lighthouse/calculated-remotes.js';
import { firewallNetworks } from './firewall-setup.js';
import { decodeControl, type ControlMessage } from '../relay/control.js';
import { RelayManager } from '../relay/manager.js';
import type { Logger } from '../log/logger.js';
import { Counters } from '../metrics/counters.js';
import type { AeadCipher as NoiseCipher } from '../noise/aead.js';
import { openTun, type TunDevice } from '../tun/tun.js';
import type { PacketBatch } from '../tun/device.js';
import { addrKey, type UdpAddr } from '../udp/addr.js';
import { AddressWatch } from '../udp/address-watch.js';
import { AddressWatchWiring } from './address-watch-wiring.js';
import { NodePortMap, type PortMapReport } from '../portmap/node-portmap.js';
import { PortMapWiring } from './portmap-wiring.js';
import { DgramConn, type UdpConn } from '../udp/udp-conn.js';
import { Birthday } from './birthday.js';
import { BirthdayWiring } from './birthday-wiring.js';
import { LighthouseClientWiring } from './lighthouse-client-wiring.js';
import { LighthouseServerWiring } from './lighthouse-server-wiring.js';
import { RelayWiring } from './relay-wiring.js';
import { NatTests } from './nat-tests.js';
import { NatTestsWiring } from './nat-tests-wiring.js';
import type { MeasuredMapping } from '../punchy/birthday-policy.js';
import { SECOND_PORT_DEFAULT } from '../config/section-lighthouse.js';
import { PathFinder } from './path-finder.js';
import { portBehaviour } from '../punchy/nat-kind.js';
import { CertExpiryWatch } from './cert-expiry.js';
import { CertExpiryWiring } from './cert-expiry-wiring.js';
import type { Pki } from './pki.js';
import { isPrivateAddress } from './private-address.js';
import { openTcpTransport, udpWhileOnTcp, type TcpNodeEnv, type TcpTransport } from './tcp-transport.js';
import { RttProbes } from '../control/rtt-probes.js';
import { Whoami } from '../control/whoami.js';
import { WhoamiWiring } from './whoami-wiring.js';

export interface NodeSetup {
  config: MeshConfig;
  pki: Pki;
  firewall: Firewall;
  staticHosts: Map<VpnIp, UdpAddr[]>;
  log: Logger;
  clock?: Clock;
  /** Tests pass in-memory twins; the daemon opens real ones. */
  udp?: UdpConn;
  tun?: TunDevice | null;
  /** Watch for local address changes (roaming); off for in-process test nodes. Default true. */
  watchAddresses?: boolean;
  /** The networks our interfaces are on (punchy/punch-needed.ts); default: the system's, kept between address events. */
  localNetworks?: () => LocalNetwork[];
  /**
   * A lighthouse's second port for NAT tests (daemon/nat-tests.ts), a node:dgram socket unless `openSecondPort`
   * says otherwise. The daemon turns it on; in-process test nodes leave it off unless they test it.
   */
  secondPort?: boolean;
  openSecondPort?: () => Promise<UdpConn>;
  /** The TCP fallback (tcp-transport.ts): a listener for lighthouses and relays, the fallback for others. The
   * daemon turns it on; in-process test nodes leave it off unless they test it. */
  tcp?: boolean;
  /** Where the port mapping servers are (NodePortMapEnv.gateway); default: the system's gateway. Tests fake one. */
  portmapGateway?: () => Promise<string | null>;
}

export class MeshNode implements DataPathContext, HandshakeEnv {
  readonly pipelines: Pipelines = new Pipelines(this);
  readonly clock: Clock;
  readonly log: Logger;
  readonly counters = new Counters();
  /** A tunnel event listener that throws is logged: the other listeners and the tables go on. */
  readonly hostmap = new HostMap((e) => this.log.error('Tunnel event listener failed', { error: (e as Error).stack }));
  readonly handshakes: HandshakeManager;
  readonly cipher: NoiseCipher;
  readonly tryIntervalMs: number;
  readonly retries: number;
  readonly timers: { aliveIntervalMs: number; pendingDeletionIntervalMs: number };
  readonly dropLocalBroadcast: boolean;
  readonly dropMulticast: boolean;
  readonly punchSettleMs = PUNCH_SETTLE_MS;
  /** Kept between address-watch events (punchy/local-networks-cache.ts). */
  readonly localNetworks: LocalNetworksCache;
  udp!: UdpConn;
  tun: TunDevice | null = null;
  private config: MeshConfig;
  private pki: Pki;
  private fw: Firewall;
  private staticHosts: Map<VpnIp, UdpAddr[]>;
  private unsafeRoutes: UnsafeRouteTable;
  /** tun.use_system_route_table: the kernel's routes via a VPN gateway on our TUN, and their watcher. */
  private readonly learnedRoutes: SystemRouteTable | null;
  private systemRouteWatch: SystemRouteWatch | null = null;
  private calculatedRemotes: CalculatedRemotes;
  private preferredRanges: PreferredRange[];
  private remoteAllowList: AllowList;
  /** remote_allow_ranges: peers inside one of these overlay ranges are judged by its own list, most specific first. */
  private remoteAllowRanges: AllowRanges = { v4: [], v6: [] };
  readonly lighthouseServer: LighthouseServer | null = null;
  /** lighthouse.store: what this lighthouse shares with its tier (lighthouse/store/, docs/lighthouse-tier.md). */
  lighthouseStore: LighthouseStore | null = null;
  readonly lighthouseClient: LighthouseClient | null = null;
  readonly relays: RelayManager;
  readonly birthday: Birthday;
  readonly paths: PathFinder;
  /** RTT probes on test request/reply pairs (`mesh status`, `mesh ping`). */
  readonly probes: RttProbes;
  /** The mesh-only "how do you see me" exchange (pkg/control/whoami.ts): answered always, asked by netcheck. */
  readonly whoami: Whoami;
  /** NAT tests: the second port of a lighthouse, a node's measurement of its NAT (daemon/nat-tests.ts). */
  natTests: NatTests | null = null;
  private readonly certExpiry: CertExpiryWatch;
  private lighthouses: VpnIp[];
  /** Cancels the periodic tasks started by every(). */
  private readonly periodic: Array<() => void> = [];
  /** punchy.punch: the keep-alives, spread over their interval; null when off. */
  private punches: SpreadRounds<HostInfo> | null = null;
  private addressWatch: AddressWatch | null = null;
  /** portmap.enabled (pkg/portmap/): the gateway forwards our listen port; null when off or without lighthouses. */
  portMap: NodePortMap | null = null;
  /** The TCP fallback (tcp-transport.ts); null when this node neither serves TCP nor falls back to it. */
  tcp: TcpTransport | null = null;
  /** Cancels the handshake ticker while one runs (handshakePending). */
  private handshakeTicker: (() => void) | null = null;
  private addressFilter: {
    config: MeshConfig;
    allow: AllowList | undefined;
    interfaces: LocalAddressOptions['interfaces'];
  } | null = null;
  private stopped = false;

  private constructor(setup: NodeSetup) {
    const c = setup.config;
    this.config = c;
    this.pki = setup.pki;
    this.fw = setup.firewall;
    this.staticHosts = setup.staticHosts;
    this.log = setup.log;
    this.clock = setup.clock ?? systemClock;
    this.localNetworks = new LocalNetworksCache(setup.localNetworks ?? interfaceNetworks, setup.watchAddresses ?? true);
    this.cipher = c.cipher;
    this.tryIntervalMs = c.handshakes.tryIntervalMs;
    this.retries = c.handshakes.retries;
    this.timers = {
      aliveIntervalMs: c.timers.connectionAliveIntervalMs,
      pendingDeletionIntervalMs: c.timers.pendingDeletionIntervalMs,
    };
    this.dropLocalBroadcast = c.tun.dropLocalBroadcast;
    this.dropMulticast = c.tun.dropMulticast;
    this.learnedRoutes = c.tun.useSystemRouteTable ? new SystemRouteTable() : null;
    this.unsafeRoutes = new UnsafeRouteTable(c.tun.unsafeRoutes, this.learnedRoutes);
    this.calculatedRemotes = new CalculatedRemotes(c.lighthouse.calculatedRemotes);
    this.preferredRanges = preferredRanges(c);
    this.remoteAllowList = new AllowList(c.lighthouse.remoteAllowList);
    this.remoteAllowRanges = allowRanges(c);
    this.lighthouses = c.lighthouse.amLighthouse ? [] : c.lighthouse.hosts.map(parseVpnIp);
    this.handshakes = new HandshakeManager(this);
    this.relays = new RelayManager(new RelayWiring(this));
    this.paths = new PathFinder(this);
    // Owned here, not by the control service: a lighthouse answers whoami (and announces its second port) whether or
    // not a control socket is open; `mesh status|ping|netcheck` only read these.
    this.probes = new RttProbes(this.clock, (host, payload) =>
      sendOnTunnel(this, host, MessageType.Test, TestSubType.Request, payload),
    );
    this.whoami = new Whoami(new WhoamiWiring(this));
    this.certExpiry = new CertExpiryWatch(new CertExpiryWiring(this));
    this.birthday = new Birthday(new BirthdayWiring(this));
    if (c.lighthouse.amLighthouse) this.lighthouseServer = this.makeLighthouseServer();
    if (this.lighthouses.length > 0) this.lighthouseClient = new LighthouseClient(new LighthouseClientWiring(this));
  }

  private makeLighthouseServer(): LighthouseServer {
    const store = openLighthouseStore(this.config.lighthouse.store, {
      vpnIp: this.identity().vpnIp,
      clock: this.clock,
      log: this.log,
      counters: this.counters,
    });
    this.lighthouseStore = store;
    return new LighthouseServer(new LighthouseServerWiring(this, store));
  }

  /**
   * This host's underlay addresses as we would report them: local_allow_list applied, the VPN network (our own TUN)
   * and link-local left out. Roaming detection compares the same set, so only a change we would report is a move.
   */
  ownAddresses(advertise: UdpAddr[] = []): UdpAddr[] {
    // Built once per config (the watcher polls every 2 s); a reload brings a new config object.
    if (this.addressFilter?.config !== this.config) {
      const localAllow = this.config.lighthouse.localAllowList;
      this.addressFilter = {
        config: this.config,
        interfaces: localAllow
          ? [...localAllow.interfaces].map(([re, allow]) => ({ pattern: new RegExp(`^(?:${re})$`), allow }))
          : [],
        allow: localAllow ? new AllowList(localAllow.cidrs) : undefined,
      };
    }
    const { allow, interfaces } = this.addressFilter;
    const { vpnNet, vpnNetworks } = this.identity();
    return localAddresses({ port: this.udp.localPort, vpnNet, vpnNetworks, advertise, allow, interfaces });
  }

  /** relay.relays, and while UDP is blocked the servers we reach over TCP (peers reach us through them). */
  advertisedRelays(): VpnIp[] {
    if (this.config.relay.amRelay) return [];
    const configured = this.config.relay.relays.map(parseVpnIp);
    const overTcp = this.tcp?.fallback?.tcpAttached() ?? [];
    return overTcp.length === 0 ? configured : [...new Set([...configured, ...overTcp])];
  }

  /** PathEnv: a relay to fail over to (daemon/path-finder.ts), through a relay the lighthouse named for the peer. */
  prepareRelay(vpnIp: VpnIp): 'established' | 'requested' | 'none' {
    const c = this.config.relay;
    if (!c.useRelays || c.amRelay) return 'none';
    return this.relays.prepare(vpnIp, this.lighthouseClient?.relaysFor(vpnIp) ?? []);
  }

  /** DataPathContext: the path-health detector counts what should draw an answer. */
  answerableSent(host: HostInfo, test: boolean): void {
    this.paths.answerableSent(host, test);
  }

  sendViaRelays(vpnIp: VpnIp, packet: Uint8Array): void {
    const c = this.config.relay;
    if (!c.useRelays || c.amRelay) return;
    const relays = this.lighthouseClient?.relaysFor(vpnIp) ?? [];
    if (relays.length > 0) this.relays.sendViaRelays(vpnIp, packet, relays);
  }

  /** A lighthouse (meta) message on `host`'s tunnel: the lighthouse client and server, whoami and NAT tests send so. */
  sendMeta(host: HostInfo, m: MetaMessage): void {
    sendOnTunnel(this, host, MessageType.LightHouse, NoSubType, encodeMeta(m));
  }

  static async start(setup: NodeSetup): Promise<MeshNode> {
    const node = new MeshNode(setup);
    const c = setup.config;
    node.udp =
      setup.udp ??
      (await DgramConn.open({
        host: c.listen.host,
        port: c.listen.port,
        readBuffer: c.listen.readBuffer,
        writeBuffer: c.listen.writeBuffer,
      }));
    try {
      if (setup.tcp) node.tcp = await openTcpTransport(node.udp, node.tcpEnv());
      if (node.tcp) node.udp = node.tcp.underlay;
      else node.udp.onPacket((packet, from) => node.onUdp(packet, from));
      node.tcp?.fallback?.start();
      node.natTests = await node.openNatTests(setup);
    } catch (err) {
      // A second port that is taken, say: what was opened so far (the TCP listener) must not keep the process alive.
      await node.stop();
      throw err;
    }
    node.every(1000, () => {
      checkLiveness(node);
      node.handshakes.forgetOldAnswers();
    });
    node.every(5000, () => node.fw.sweep());
    node.every(DIRECT_UPGRADE_INTERVAL_MS, () => node.paths.upgradeRelayed());
    // A certificate can expire while its tunnel is up: closed at its expiry (cert-expiry.ts).
    node.certExpiry.recheck();
    if (c.punchy.punch) {
      // Spread over the interval, not sent in one turn (punchy/spread-rounds.ts): at 10k tunnels one pass held the
      // thread for 50-68 ms.
      node.punches = new SpreadRounds<HostInfo>({
        clock: node.clock,
        intervalMs: PUNCH_INTERVAL_MS,
        items: () => node.hostmap.byPrimary.values(),
        visit: (h) => {
          // Nothing to send to a tunnel that sent to its remote within the interval (punchHost), as a lighthouse's
          // acks do for nearly all of its tunnels: skipped before the hostmap lookup and the task around the send.
          if (!node.config.punchy.targetAllRemotes && sentToRemoteRecently(h, node.clock.now())) return;
          if (node.hostmap.byVpnIp.get(h.vpnIp) !== h) return;
          const allRemotes = node.config.punchy.targetAllRemotes
            ? (x: HostInfo) => node.candidates(x.vpnIp)
            : undefined;
          node.runTimerTask(() => punchHost(h, node.udp, allRemotes, node.clock.now()));
        },
      });
      node.punches.start();
    }
    if (node.lighthouseClient) {
      node.lighthouseClient.sendUpdate();
      if (c.lighthouse.interval > 0)
        node.every(c.lighthouse.interval * 1000, () => node.lighthouseClient?.sendUpdate());
      // Sends wait for the end of the turn, which the child processes below would hold up by several ms.
      node.udp.flush?.();
    }
    const id = node.identity();
    if (setup.tun === undefined && !c.tun.disabled) node.openSystemRouteWatch(c.tun.useSystemRouteTableBufferSize);
    // The TUN is configured by an ip child process, and starting one blocks for a few ms; the lighthouse handshake
    // needs only the socket, so it went out first and runs meanwhile (a cold start's first tunnel comes up that
    // much sooner). Awaited before anything returns.
    const tunReady: Promise<TunDevice | null> =
      setup.tun !== undefined
        ? Promise.resolve(setup.tun)
        : c.tun.disabled
          ? Promise.resolve(null)
          : openTun({
              name: c.tun.dev,
              mtu: c.tun.mtu,
              // Every network of our certificate(s), both families: each gets its address and connected route.
              networks: id.vpnNetworks,
              txQueueLen: c.tun.txQueue,
              udpOffload: c.tun.udpOffload,
              counters: node.counters,
              routes: c.tun.routes.map((r) => ({ route: r.route, mtu: r.mtu })),
              unsafeRoutes: c.tun.unsafeRoutes.map((r) => ({
                route: r.route,
                mtu: r.mtu,
                metric: r.metric,
                install: r.install,
              })),
            });
    // After the lighthouse handshake went out too: its netlink socket is quick to open, but without the addon it
    // is another child process (`ip monitor`).
    if (setup.watchAddresses ?? true) {
      node.addressWatch = new AddressWatch(new AddressWatchWiring(node));
      node.addressWatch.start();
    }
    try {
      node.tun = await tunReady;
    } catch (err) {
      await node.stop();
      throw err;
    }
    if (node.tun) node.startSystemRouteWatch(node.tun.name);
    node.tun?.onPackets((batch) => node.onTunRead(batch));
    node.log.info('Mesh node started', {
      vpnIp: formatVpnIp(id.vpnIp),
      // Only for several addresses, so an IPv4-only node's line stays as it was.
      vpnAddrs: id.vpnAddrs.length > 1 ? id.vpnAddrs.map(formatVpnIp).join(',') : undefined,
      certName: id.cert.details.name,
      udpPort: node.udp.localPort,
      tun: node.tun?.name ?? 'disabled',
      cipher: node.cipher,
    });
    // After the start-up work: the mapping protocols are loaded and run only now, off the start path.
    if (c.portmap?.enabled && node.lighthouseClient) node.startPortMap(c.portmap.lifetimeSec, setup.portmapGateway);
    return node;
  }

  private startPortMap(lifetimeSec: number, gateway?: () => Promise<string | null>): void {
    const portMap = new NodePortMap(new PortMapWiring(this, lifetimeSec, gateway));
    this.portMap = portMap;
    portMap.start().catch((e) => this.log.warn('Port mapping did not start', { error: (e as Error).message }));
  }

  /** What port mapping did, for `mesh netcheck` and status; null when it is off. */
  portMapReport(): PortMapReport | null {
    return this.portMap?.report() ?? null;
  }

  /**
   * HandshakeEnv: a handshake is pending. Its retransmits tick only while one is, so an idle node wakes about once
   * a second instead of 40 times (measured idle CPU: 10.6 ms/s before, see bench/RESULTS.md). Finer than
   * try_interval so that an attempt scheduled after a punch settles goes out on time.
   */
  handshakePending(): void {
    if (this.handshakeTicker !== null || this.stopped) return;
    this.handshakeTicker = everyOn(this.clock, Math.max(10, Math.min(25, this.tryIntervalMs)), () => {
      this.runTimerTask(() => this.handshakes.tick());
      if (this.handshakes.pending.size === 0 || this.stopped) {
        this.handshakeTicker?.();
        this.handshakeTicker = null;
      }
    });
  }

  /** Subscribed before the TUN exists, so a route added the moment it appears is queued, not missed. */
  private openSystemRouteWatch(bufferSize: number): void {
    if (this.learnedRoutes === null) return;
    const watch = new SystemRouteWatch({
      table: this.learnedRoutes,
      vpnNetworks: () => this.identity().vpnNetworks,
      log: this.log,
      clock: this.clock,
      counters: this.counters,
    });
    try {
      watch.open(bufferSize);
      this.systemRouteWatch = watch;
    } catch (err) {
      this.log.error(
        'tun.use_system_route_table: cannot watch the system route table; only tun.unsafe_routes are routed',
        { error: String(err) },
      );
    }
  }

  private startSystemRouteWatch(tunName: string): void {
    try {
      this.systemRouteWatch?.start(tunName);
    } catch (err) {
      this.log.error(
        'tun.use_system_route_table: cannot watch the system route table; only tun.unsafe_routes are routed',
        { error: String(err) },
      );
      this.systemRouteWatch?.stop();
      this.systemRouteWatch = null;
    }
  }

  private every(ms: number, fn: () => void): void {
    this.periodic.push(everyOn(this.clock, ms, () => this.runTimerTask(fn)));
  }

  /** A timer task that throws is logged; the timer goes on. */
  private runTimerTask(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log.error('Timer task failed', { error: (e as Error).stack });
    }
  }

  private tcpEnv(): TcpNodeEnv {
    return {
      clock: this.clock,
      log: this.log,
      counters: this.counters,
      hostmap: this.hostmap,
      handshakes: this.handshakes,
      config: () => this.config,
      lighthouses: () => this.lighthouses,
      staticHosts: () => this.staticHosts,
      deliver: (packet, from, overTcp) => this.onUdp(packet, from, overTcp),
      sendTestRequest: (host) => this.sendTestRequest(host),
      relaysChanged: () => this.lighthouseClient?.sendUpdate(),
    };
  }

  /** Bad input must never take the daemon down: any throw on a packet is counted and the packet dropped. */
  onUdp(packet: Buffer, from: UdpAddr, overTcp = false): void {
    try {
      const fallback = this.tcp?.fallback;
      // udpWhileOnTcp looks at what the packet did right after handling it: its data may not wait for the batch.
      if (!overTcp && fallback?.routedFrom(from))
        udpWhileOnTcp(fallback, this.hostmap, () => handleUdpNow(this, packet, from));
      else handleUdpPacket(this, packet, from);
    } catch (e) {
      this.counters.inc('drops', 'outside-exception');
      this.log.debug('Exception on outside packet', { udpAddr: addrKey(from), error: (e as Error).message });
    }
  }

  /**
   * One read from the TUN: its data packets are sealed and sent when the read's last was handled (inside-path.ts),
   * and all are judged at one time, the clock read once per read (docs/state-machines.md, "Data path time").
   */
  private onTunRead(batch: PacketBatch): void {
    const inside = this.pipelines.inside;
    inside.beginTunRead();
    try {
      const now = this.clock.now();
      for (let i = 0; i < batch.length; i++) this.onTun(batch[i]!, now);
    } finally {
      inside.endTunRead();
    }
  }

  private onTun(packet: Uint8Array, now: number): void {
    try {
      handleTunPacket(this, packet, now);
    } catch (e) {
      this.counters.inc('drops', 'inside-exception');
      this.log.debug('Exception on inside packet', { error: (e as Error).message });
    }
  }

  identity(): LocalIdentity {
    return this.pki.identity;
  }

  caPool(): CaPool {
    return this.pki.caPool;
  }

  firewall(): Firewall {
    return this.fw;
  }

  splitByPunch(vpnIp: VpnIp, addrs: readonly UdpAddr[]): { direct: UdpAddr[]; punched: UdpAddr[] } {
    const client = this.lighthouseClient;
    const learned = client?.addressesOf(vpnIp) ?? [];
    const ours = client?.selfNatView()[0] ?? client?.selfAddresses()[0];
    return splitByPunch(addrs, {
      localNetworks: this.localNetworks.get(),
      ourPublicIp: ours?.address,
      peerPublicIp: (client?.natViewOf(vpnIp)[0] ?? learned[0])?.address,
      peerReported: client?.reportedOf(vpnIp) ?? [],
      // A public peer (the lighthouse sees it at one of its own addresses) has no NAT to poison.
      peerUnNated: portBehaviour(learned) === 'no-nat',
    });
  }

  preferred(): readonly PreferredRange[] {
    return this.preferredRanges;
  }

  candidates(vpnIp: VpnIp): UdpAddr[] {
    const learned = this.lighthouseClient?.addressesOf(vpnIp) ?? [];
    // lighthouse.calculated_remotes only for peers without a static entry, as in Nebula.
    const fixed = this.staticHosts.get(vpnIp) ?? this.calculatedRemotes.for(vpnIp);
    return orderAddresses([...fixed, ...learned], this.preferredRanges);
  }

  send(packet: Uint8Array, to: UdpAddr): void {
    this.udp.send(packet, to);
  }

  flushSends(): void {
    // Data packets batched for sealing (the queue a finished handshake flushes) go first.
    flushSealed(this);
    this.udp.flush?.();
  }

  openMapping(to: UdpAddr): void {
    this.paths.openMapping(to);
  }

  /** PathEnv: the IP TTL of a low-TTL punch, learned from the lighthouse (punchy/nat-discovery.ts) or PUNCH_TTL. */
  punchTtl(): number {
    return this.natTests?.discovery.punchTtl() ?? PUNCH_TTL;
  }

  /** PathEnv: our NAT's mapping as measured against a lighthouse's second port, 'unknown' until then. */
  natMapping(): MeasuredMapping {
    return this.natTests?.discovery.last?.mapping ?? 'unknown';
  }

  /** DataPathContext: a NatEcho on the listen socket (daemon/nat-tests.ts); true when it was taken. */
  onBareDatagram(packet: Buffer, from: UdpAddr): boolean {
    return this.natTests?.onDatagram(packet, from) ?? false;
  }

  private async openNatTests(setup: NodeSetup): Promise<NatTests> {
    const lh = this.config.lighthouse;
    const second = lh.amLighthouse ? (lh.secondPort ?? SECOND_PORT_DEFAULT) : null;
    const open = !setup.secondPort
      ? null
      : (setup.openSecondPort ?? (() => DgramConn.open({ host: this.config.listen.host, port: second?.port ?? 0 })));
    return NatTests.open(
      new NatTestsWiring(this),
      open ? second : null,
      open ?? (() => Promise.reject(new Error('no second port'))),
    );
  }

  onTestReply(host: HostInfo, payload: Uint8Array, header: Uint8Array, from: UdpAddr | null): void {
    this.paths.health.testReply(host);
    this.probes.onTestReply(host, payload, header, from, from === null ? (host.relayVia?.hopIp ?? null) : null);
  }

  onTestRequest(host: HostInfo, payload: Uint8Array): void {
    if (host.remote === null) this.birthday.onTestRequest(host, payload);
  }

  schedule(ms: number, fn: () => void): void {
    after(this.clock, ms, () => {
      if (this.stopped) return;
      try {
        fn();
      } catch (e) {
        this.log.error('Scheduled task failed', { error: (e as Error).stack });
      }
    });
  }

  queryLighthouse(vpnIp: VpnIp): void {
    this.lighthouseClient?.query(vpnIp);
  }

  established(host: HostInfo, queued: Uint8Array[], replaced: HostInfo | undefined): void {
    if (replaced) this.counters.inc('tunnels-replaced');
    const now = this.clock.now();
    for (const packet of queued) sendToHost(this, host, packet, now);
    if (this.lighthouseClient?.isLighthouse(host.vpnIp)) {
      this.lighthouseClient.lighthouseUp(host);
      this.natTests?.lighthouseUp(host);
    }
    if (host.remote === null) this.schedule(1000, () => this.paths.upgradeOne(host));
  }

  sendTestRequest(host: HostInfo): void {
    sendOnTunnel(this, host, MessageType.Test, TestSubType.Request, new Uint8Array(0));
  }

  sendClose(keys: TunnelKeys, remoteIndex: number, to: UdpAddr): void {
    const out = Buffer.allocUnsafe(HEADER_LEN + 16);
    encodeHeader(out, 0, MessageType.CloseTunnel, NoSubType, remoteIndex, 3);
    keys.send.seal(3, new Uint8Array(0), out.subarray(0, HEADER_LEN), out, HEADER_LEN);
    this.udp.send(out, to);
  }

  routeFor(dst: VpnIp, packet?: Uint8Array): VpnIp | null {
    const id = this.pki.identity;
    // The IPv4 fast path: the first IPv4 network is nearly always the only one.
    if (typeof dst === 'number' && netContains(id.vpnNet, dst)) return dst;
    if ((typeof dst === 'string' || id.vpnNetworks.length > 1) && this.inOurNetworks(dst, id)) return dst;
    return this.unsafeRoutes.gatewayFor(dst, packet, this.hasTunnel);
  }

  /** The last verdict of routeFor's network check, by address and identity: a burst is nearly always one flow. */
  private lastNetCheck: { dst: VpnIp; id: LocalIdentity; inside: boolean } | null = null;

  private inOurNetworks(dst: VpnIp, id: LocalIdentity): boolean {
    const last = this.lastNetCheck;
    if (last !== null && last.dst === dst && last.id === id) return last.inside;
    const inside = inNetworks(dst, id.vpnNetworks);
    this.lastNetCheck = { dst, id, inside };
    return inside;
  }

  /** For unsafe-route gateway choice; made once, not per packet (routeFor is on the inside path). */
  private readonly hasTunnel = (vpnIp: VpnIp): boolean => this.hostmap.byVpnIp.has(vpnIp);

  remoteAllowed(vpnIp: VpnIp, addr: UdpAddr): boolean {
    return (rangedAllowList(this.remoteAllowRanges, vpnIp) ?? this.remoteAllowList).allows(addr.address);
  }

  sendRecvErrorTo(addr: UdpAddr): boolean {
    return recvErrorModeAllows(this.config.listen.sendRecvError, addr);
  }

  acceptRecvErrorFrom(addr: UdpAddr): boolean {
    return recvErrorModeAllows(this.config.listen.acceptRecvError, addr);
  }

  onLighthouseMessage(host: HostInfo, payload: Uint8Array, _from: UdpAddr | null): void {
    if (this.natTests?.onMeta(host, payload)) return;
    if (this.whoami.onMeta(host, payload)) return;
    // A host's update that repeats its last one byte for byte is not decoded again (lighthouse/server.ts).
    if (this.lighthouseServer?.handleRepeatedUpdate(host, payload)) return;
    let m: MetaMessage;
    try {
      m = decodeMeta(payload);
    } catch {
      return this.counters.inc('drops', 'lighthouse-malformed');
    }
    if (m.type === MetaType.HostQuery || m.type === MetaType.HostUpdateNotification) {
      if (this.lighthouseServer) this.lighthouseServer.handle(host, m, payload);
      else this.counters.inc('drops', 'lighthouse-not-a-lighthouse');
    } else if (this.lighthouseClient) this.lighthouseClient.handle(host, m);
    else this.counters.inc('drops', 'lighthouse-no-lighthouses');
  }

  onControlMessage(host: HostInfo, payload: Uint8Array): void {
    let m: ControlMessage;
    try {
      m = decodeControl(payload);
    } catch {
      return this.counters.inc('drops', 'control-malformed');
    }
    this.relays.onControl(host, m);
  }

  onRelayPacket(packet: Buffer, relayIndex: number, counter: number, from: UdpAddr): void {
    this.relays.onRelayedPacket(packet, relayIndex, counter, from);
  }

  sendRelayed(host: HostInfo, packet: Uint8Array): boolean {
    return this.relays.sendRelayed(host, packet);
  }

  closeTunnel(host: HostInfo, reason: string, notifyPeer: boolean): void {
    if (notifyPeer) sendOnTunnel(this, host, MessageType.CloseTunnel, NoSubType, new Uint8Array(0));
    // The lighthouse server and client, the relays and birthday punching forget the peer on the closed event.
    this.hostmap.close(host);
    this.counters.inc('tunnels-closed', reason);
    // The keys are wiped now rather than when the collector gets to them (a tunnel replaced by a newer handshake
    // is left to the collector: timers and relays may still hold it).
    host.keys.send.close();
    host.keys.recv.close();
  }

  rehandshake(host: HostInfo): void {
    this.log.debug('Peer may have lost the tunnel, handshaking again', { vpnIp: formatVpnIp(host.vpnIp) });
    this.handshakes.replace(host);
  }

  /**
   * Applies a validated reload (SIGHUP). What Nebula 1.6.1 reloads: certificates and CA bundle with the blocklist
   * (for new handshakes; existing tunnels are re-checked when pki.disconnect_invalid is set), firewall rules (flows
   * re-checked on their next packet), punchy respond/delay, lighthouse hosts, allow lists and advertise_addrs (read
   * by the lighthouse client's wiring at each update), static hosts, send_recv_error and logging. The listen socket,
   * tun device and cipher need a restart.
   */
  applyReload(next: {
    config: MeshConfig;
    pki: Pki;
    rules: FirewallRules;
    staticHosts: Map<VpnIp, UdpAddr[]>;
  }): string[] {
    const changed: string[] = [];
    const restartOnly = ['listen', 'tun', 'cipher'] as const;
    for (const key of restartOnly) {
      if (JSON.stringify(next.config[key]) !== JSON.stringify(this.config[key]))
        changed.push(`${key} (needs a restart to apply)`);
    }
    // The store's connection is made once (lighthouse/store/open.ts): a new one would drop the tier's view meanwhile.
    if (JSON.stringify(next.config.lighthouse.store) !== JSON.stringify(this.config.lighthouse.store))
      changed.push('lighthouse.store (needs a restart to apply)');
    this.config = next.config;
    this.pki = next.pki;
    this.handshakes.ephemeralKeys.drop(); // no key made ahead outlives a reload (ephemeral-keys.ts)
    this.fw.replaceRules(next.rules);
    this.fw.setLocalNetworks(firewallNetworks(next.pki)); // the new certificate's unsafe networks (Nebula 1.11)
    this.staticHosts = next.staticHosts;
    this.calculatedRemotes = new CalculatedRemotes(next.config.lighthouse.calculatedRemotes);
    this.remoteAllowList = new AllowList(next.config.lighthouse.remoteAllowList);
    this.remoteAllowRanges = allowRanges(next.config);
    this.preferredRanges = preferredRanges(next.config);
    if (!next.config.lighthouse.amLighthouse) this.lighthouses = next.config.lighthouse.hosts.map(parseVpnIp);
    this.log.level = next.config.logging.level;
    this.log.format = next.config.logging.format;
    this.closeInvalidTunnels(next.config.pki.disconnectInvalid);
    // A new certificate, or another version of it, makes the tunnels made with the old one handshake again.
    for (const host of [...this.hostmap.byPrimary.values()]) this.handshakes.checkVersions(host);
    this.certExpiry.recheck(); // the new CAs may expire at other times, and disconnect_invalid may have changed
    return changed;
  }

  /**
   * On reload: tunnels whose peer certificate the new CA pool refuses are closed when pki.disconnect_invalid is set
   * (the default, Nebula 1.8+); blocklisted ones are closed whatever it says (Nebula 1.7+).
   */
  private closeInvalidTunnels(disconnectInvalid: boolean): void {
    const now = unixMs(this.clock) / 1000; // to the millisecond, as in the handshake
    for (const host of [...this.hostmap.byPrimary.values()]) {
      try {
        const cert = host.presentedCert; // of either version, as the handshake verified it
        const ca = verifyPresented(cert, this.pki.caPool, now);
        host.certValidUntil = Math.min(cert.details.notAfter, ca.details.notAfter);
      } catch (e) {
        if (!disconnectInvalid && (e as { code?: string }).code !== 'ECERTBLOCKED') continue;
        this.log.info('Tunnel peer certificate no longer valid, closing', {
          vpnIp: formatVpnIp(host.vpnIp),
          error: (e as Error).message,
        });
        this.closeTunnel(host, 'invalid-cert', true);
      }
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const host of [...this.hostmap.byPrimary.values()]) this.closeTunnel(host, 'shutdown', true);
    for (const cancel of this.periodic) cancel();
    this.punches?.stop();
    this.certExpiry.stop();
    this.handshakeTicker?.();
    this.handshakeTicker = null;
    this.handshakes.stop();
    this.addressWatch?.stop();
    this.systemRouteWatch?.stop();
    this.tcp?.fallback?.stop();
    this.birthday.closeAll();
    this.probes.clear();
    this.whoami.clear();
    // The gateway is told to delete our mapping (bounded wait, portmap/manager.ts DELETE_WAIT_MS).
    await this.portMap?.stop();
    await this.natTests?.close();
    await this.lighthouseStore?.close(); // after the tunnels: their records were withdrawn
    // Give the close datagrams a moment to leave before the socket goes: a real wait (the kernel's socket does not
    // run on our clock).
    await new Promise((r) => setTimeout(r, 50));
    await this.udp.close();
    await this.tun?.close();
  }

  // ---- operability (issue 8: control socket, status, metrics): read-only views ----

  /** The running config (the last one applied, at start or by a good reload). */
  currentConfig(): MeshConfig {
    return this.config;
  }

  /** lighthouse.hosts as configured now (none on a lighthouse): the wirings read it at each use. */
  lighthouseHosts(): readonly VpnIp[] {
    return this.lighthouses;
  }

  /** Whether stop() began: work still under way (a probe run) ends. */
  isStopped(): boolean {
    return this.stopped;
  }
}

/** listen.send_recv_error / accept_recv_error: always, never, or only for private (RFC 1918 etc.) addresses. */
function recvErrorModeAllows(mode: MeshConfig['listen']['sendRecvError'], addr: UdpAddr): boolean {
  if (mode === 'never') return false;
  if (mode === 'private') return isPrivateAddress(addr.address);
  return true;
}

/** preferred_ranges (underlay ranges) of both families. */
function preferredRanges(c: MeshConfig): PreferredRange[] {
  return c.preferredRanges.map((r) => (r.includes(':') ? parseIpPrefix(r) : parseCidr(r)));
}

/** lighthouse.remote_allow_ranges by overlay range, most specific first; IPv6 ranges apply to IPv6 overlay addresses. */
function allowRanges(c: MeshConfig): AllowRanges {
  const all = [...(c.lighthouse.remoteAllowRanges ?? new Map())];
  return {
    v4: all
      .filter(([cidr]) => !cidr.includes(':'))
      .map(([cidr, rules]) => ({ range: parseCidr(cidr), list: new AllowList(rules) }))
      .sort((a, b) => Math.clz32(~b.range.mask) - Math.clz32(~a.range.mask)),
    v6: all
      .filter(([cidr]) => cidr.includes(':'))
      .map(([cidr, rules]) => ({ range: parseIpPrefix(cidr), list: new AllowList(rules) }))
      .sort((a, b) => b.range.bits - a.range.bits),
  };
}

interface AllowRanges {
  v4: Array<{ range: Ipv4Net; list: AllowList }>;
  v6: Array<{ range: IpPrefix; list: AllowList }>;
}

/**
 * The allow list of the most specific remote_allow_range holding `vpnIp`, if any. Loops, not find() with a closure:
 * a lighthouse judges every address of every host update here, and the closures were a fifth of its garbage per
 * update (a young collection every ~110 ms at 40k nodes).
 */
function rangedAllowList(ranges: AllowRanges, vpnIp: VpnIp): AllowList | undefined {
  if (typeof vpnIp === 'number') {
    for (const r of ranges.v4) if (netContains(r.range, vpnIp)) return r.list;
  } else for (const r of ranges.v6) if (vpnIpInPrefix(vpnIp, r.range)) return r.list;
  return undefined;
}
