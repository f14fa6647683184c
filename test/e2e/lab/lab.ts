import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import { formatIpv4, networkOf, parseCidr } from '../../../pkg/ip/ipv4.js';
import {
  FLAT_BASE,
  hostInSlash24,
  PUBLIC_HOST_BASE,
  pointToPoint,
  ROUTER_WAN_BASE,
  routerLan,
  splitCidr,
} from './addressing.js';
import { deleteNamespaceSync, registerLive, unregisterLive } from './cleanup.js';
import { TrafficCounter, forgetCounters } from './counters.js';
import type { CounterMatch } from './counters.js';
import { execIn } from './exec.js';
import type { ExecOptions, ExecResult } from './exec.js';
import { isolationRuleset, LAN_IF, routerRuleset, WAN_IF } from './nat.js';
import type { NatKind } from './nat.js';
import { pingFrom } from './ping.js';
import type { PingOptions, PingResult } from './ping.js';
import { LabProcess } from './process.js';

// A throw-away network made of namespaces: hosts, an "internet" that routes between public /30 links, NAT routers
// with LANs behind them, and processes running inside. Nothing is ever created in the root namespace: each veth is
// born with its two ends already inside lab namespaces, so the lab cannot leak traffic to the machine's real network.
// Layout and address plan: see addressing.ts.

/** A namespace in the lab. `ip` is its main underlay address ('' while it has none). */
export interface Host {
  readonly name: string;
  readonly ns: string;
  ip: string;
}

export interface Router extends Host {
  readonly kind: NatKind;
  /** The router's own address on the internet (what peers see for hosts behind a NAT). */
  readonly wanIp: string;
  readonly lanIp: string;
  readonly lanCidr: string;
  /** The LAN bridge hosts attach to; default "lan" (isolatedLan() makes a second one). */
  readonly lanIf?: string;
}

export interface RouterOptions {
  name?: string;
  /** net.netfilter.nf_conntrack_udp_timeout in the router (kernel default 30). */
  udpTimeoutSec?: number;
  /** net.netfilter.nf_conntrack_udp_timeout_stream in the router (kernel default 120). */
  udpStreamTimeoutSec?: number;
  /** LAN prefix; default 192.168.<k+1>.0/24. Two routers may share one (both "192.168.1.0/24" at home). */
  lanCidr?: string;
}

export interface LinkOptions {
  addrA?: string;
  addrB?: string;
  /** Interface names (<= 15 chars); default the peer's short name, or ifN when taken. */
  ifA?: string;
  ifB?: string;
  mtu?: number;
}

export interface SpawnInNsOptions {
  /** Default <tmpdir>/<host>-<command>-<n>.log */
  logFile?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** What Lab.create needs from a node:test TestContext (or a suite): a place to register cleanup. */
export interface CleanupScope {
  after(fn: () => unknown): void;
}

type HostRef = Host | string;

/** Which of a router's LANs a Router view stands for. */
function lanKey(router: Router): string {
  return `${router.name}/${router.lanIf ?? LAN_IF}`;
}

const NAME = /^[a-z][a-z0-9-]{0,14}$/;

export class Lab {
  /** Prefix of every namespace this lab creates: mlab<pid>x<hex>. */
  readonly prefix: string;
  /** Scratch directory for certs, configs and logs; removed by destroy() unless MESH_LAB_KEEP=1. */
  readonly tmpdir: string;
  private readonly hosts = new Map<string, Host>();
  private readonly ifNames = new Map<string, Set<string>>();
  private readonly processes: LabProcess[] = [];
  private readonly routerLanNext = new Map<string, number>();
  private inet: Host | null = null;
  private flatSwitch: Host | null = null;
  private routerCount = 0;
  private publicCount = 0;
  private flatCount = 0;
  private seq = 0;
  private destroyed = false;

  private constructor() {
    this.prefix = `mlab${process.pid}x${randomBytes(2).toString('hex')}`;
    this.tmpdir = mkdtempSync(join(tmpdir(), `${this.prefix}-`));
    registerLive(this);
  }

  /** Makes an empty lab; with a test context, destroy() runs after the test whether it passed or not. */
  static async create(scope?: CleanupScope): Promise<Lab> {
    const lab = new Lab();
    scope?.after(() => lab.destroy());
    return lab;
  }

  // ---- topology ----

  /** A namespace with loopback up (and IPv6 off, so captures show only the lab's IPv4 traffic). */
  async addHost(name: string): Promise<Host> {
    this.assertAlive();
    if (!NAME.test(name)) throw new Error(`host name ${JSON.stringify(name)} must match ${NAME}`);
    if (this.hosts.has(name)) throw new Error(`host ${name} already exists`);
    const host: Host = { name, ns: `${this.prefix}-${name}`, ip: '' };
    await execIn(null, 'ip', ['netns', 'add', host.ns]);
    this.hosts.set(name, host);
    this.ifNames.set(host.ns, new Set(['lo']));
    await this.exec(host, 'ip', ['link', 'set', 'dev', 'lo', 'up']);
    await this.sysctl(host, { 'net.ipv6.conf.all.disable_ipv6': 1, 'net.ipv6.conf.default.disable_ipv6': 1 });
    return host;
  }

  /** A veth pair between two lab namespaces, addressed and up. Returns the interface names chosen. */
  async link(a: HostRef, b: HostRef, options: LinkOptions = {}): Promise<{ ifA: string; ifB: string }> {
    const ha = this.host(a);
    const hb = this.host(b);
    const ifA = this.claimIfName(ha, options.ifA ?? hb.name);
    const ifB = this.claimIfName(hb, options.ifB ?? ha.name);
    await this.exec(ha, 'ip', ['link', 'add', 'name', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', hb.ns]);
    for (const [h, ifName, addr] of [
      [ha, ifA, options.addrA],
      [hb, ifB, options.addrB],
    ] as const) {
      if (options.mtu !== undefined)
        await this.exec(h, 'ip', ['link', 'set', 'dev', ifName, 'mtu', String(options.mtu)]);
      if (addr !== undefined) {
        await this.exec(h, 'ip', ['addr', 'add', addr, 'dev', ifName]);
        if (h.ip === '') h.ip = splitCidr(addr)[0];
      }
      await this.exec(h, 'ip', ['link', 'set', 'dev', ifName, 'up']);
    }
    return { ifA, ifB };
  }

  /** `n` hosts h1..hn on one L2 segment (a bridge in namespace "sw"), addressed 198.18.0.1, .2, … /24. */
  async flat(n: number, names?: string[]): Promise<Host[]> {
    const sw = await this.switchHost();
    const hosts: Host[] = [];
    for (let i = 0; i < n; i++) {
      const host = await this.addHost(names?.[i] ?? `h${this.flatCount + 1}`);
      this.flatCount++;
      const { ifB } = await this.link(host, sw, {
        addrA: `${hostInSlash24(FLAT_BASE, this.flatCount)}/24`,
        ifA: 'eth0',
      });
      await this.exec(sw, 'ip', ['link', 'set', 'dev', ifB, 'master', 'br0']);
      hosts.push(host);
    }
    return hosts;
  }

  /** The routed "internet" namespace (made on first use). It forwards between public /30 links and has no default route. */
  async internet(): Promise<Host> {
    if (this.inet !== null) return this.inet;
    const inet = await this.addHost('inet');
    await this.sysctl(inet, { 'net.ipv4.ip_forward': 1 });
    this.inet = inet;
    return inet;
  }

  /** A host with its own public address on the internet. */
  async publicHost(name: string): Promise<Host> {
    const inet = await this.internet();
    const host = await this.addHost(name);
    const p2p = pointToPoint(PUBLIC_HOST_BASE, this.publicCount++);
    await this.link(inet, host, { addrA: `${p2p.near}/30`, addrB: `${p2p.far}/30`, ifB: 'eth0' });
    host.ip = p2p.far;
    await this.exec(host, 'ip', ['route', 'add', 'default', 'via', p2p.near]);
    return host;
  }

  /** A router between the internet (interface "wan") and a LAN bridge (interface "lan"), translating as `kind` says. */
  async natRouter(kind: NatKind, options: RouterOptions = {}): Promise<Router> {
    const inet = await this.internet();
    const k = this.routerCount++;
    const host = await this.addHost(options.name ?? `r${k + 1}`);
    const p2p = pointToPoint(ROUTER_WAN_BASE, k);
    await this.link(inet, host, { addrA: `${p2p.near}/30`, addrB: `${p2p.far}/30`, ifB: WAN_IF });
    await this.exec(host, 'ip', ['route', 'add', 'default', 'via', p2p.near]);

    const lan = parseCidr(options.lanCidr ?? routerLan(k));
    const lanNet = networkOf(lan);
    const prefix = splitCidr(options.lanCidr ?? routerLan(k))[1];
    const lanIp = formatIpv4(lanNet.ip + 1);
    this.claimIfName(host, LAN_IF);
    await this.exec(host, 'ip', ['link', 'add', 'name', LAN_IF, 'type', 'bridge']);
    await this.exec(host, 'ip', ['addr', 'add', `${lanIp}/${prefix}`, 'dev', LAN_IF]);
    await this.exec(host, 'ip', ['link', 'set', 'dev', LAN_IF, 'up']);
    await this.sysctl(host, { 'net.ipv4.ip_forward': 1 });
    await this.exec(host, 'nft', ['-f', '-'], { input: routerRuleset(kind) });
    if (kind === 'none')
      await this.exec(inet, 'ip', ['route', 'add', `${formatIpv4(lanNet.ip)}/${prefix}`, 'via', p2p.far]);

    const router: Router = { ...host, kind, wanIp: p2p.far, lanIp, lanCidr: `${formatIpv4(lanNet.ip)}/${prefix}` };
    router.ip = p2p.far;
    this.hosts.set(router.name, router);
    this.routerLanNext.set(lanKey(router), 2);
    await this.setUdpTimeouts(router, options);
    return router;
  }

  /**
   * A router whose WAN ("wan") is a host on `outer`'s LAN: two levels of NAT, as with a home router behind the
   * provider's carrier-grade NAT. Its `wanIp` is the outer router's (what peers on the internet see); `ip` is its
   * own address on the outer LAN. Hosts attach with hostBehind as usual; their packets cross two NATs.
   */
  async natRouterBehind(outer: Router, kind: Exclude<NatKind, 'none'>, options: RouterOptions = {}): Promise<Router> {
    const k = this.routerCount++;
    const host = await this.addHost(options.name ?? `r${k + 1}`);
    const n = this.routerLanNext.get(lanKey(outer)) ?? 2;
    this.routerLanNext.set(lanKey(outer), n + 1);
    const [, outerPrefix] = splitCidr(outer.lanCidr);
    const ownIp = formatIpv4(parseCidr(outer.lanCidr).ip + n);
    const { ifB } = await this.link(host, outer, { addrA: `${ownIp}/${outerPrefix}`, ifA: WAN_IF });
    await this.exec(outer, 'ip', ['link', 'set', 'dev', ifB, 'master', outer.lanIf ?? LAN_IF]);
    await this.exec(host, 'ip', ['route', 'add', 'default', 'via', outer.lanIp]);

    const lanCidr = options.lanCidr ?? routerLan(k);
    const lanNet = networkOf(parseCidr(lanCidr));
    const prefix = splitCidr(lanCidr)[1];
    const lanIp = formatIpv4(lanNet.ip + 1);
    this.claimIfName(host, LAN_IF);
    await this.exec(host, 'ip', ['link', 'add', 'name', LAN_IF, 'type', 'bridge']);
    await this.exec(host, 'ip', ['addr', 'add', `${lanIp}/${prefix}`, 'dev', LAN_IF]);
    await this.exec(host, 'ip', ['link', 'set', 'dev', LAN_IF, 'up']);
    await this.sysctl(host, { 'net.ipv4.ip_forward': 1 });
    await this.exec(host, 'nft', ['-f', '-'], { input: routerRuleset(kind) });

    const router: Router = { ...host, kind, wanIp: outer.wanIp, lanIp, lanCidr: `${formatIpv4(lanNet.ip)}/${prefix}` };
    router.ip = ownIp;
    this.hosts.set(router.name, router);
    this.routerLanNext.set(lanKey(router), 2);
    await this.setUdpTimeouts(router, options);
    return router;
  }

  /**
   * A second LAN on `router` (bridge "lan2", translated like the first), isolated the way many home routers are: the
   * router forwards nothing between its two LANs and drops packets from either LAN to its own WAN address (no
   * hairpin). Hosts attach with hostBehind/moveBehind on the returned view; it shares the router's namespace.
   */
  async isolatedLan(router: Router, lanCidr: string): Promise<Router> {
    const lanIf = 'lan2';
    this.claimIfName(router, lanIf);
    const [, prefix] = splitCidr(lanCidr);
    const lanNet = networkOf(parseCidr(lanCidr));
    const lanIp = formatIpv4(lanNet.ip + 1);
    await this.exec(router, 'ip', ['link', 'add', 'name', lanIf, 'type', 'bridge']);
    await this.exec(router, 'ip', ['addr', 'add', `${lanIp}/${prefix}`, 'dev', lanIf]);
    await this.exec(router, 'ip', ['link', 'set', 'dev', lanIf, 'up']);
    await this.exec(router, 'nft', ['-f', '-'], { input: isolationRuleset(router.wanIp, [LAN_IF, lanIf]) });
    const view: Router = { ...router, lanIf, lanIp, lanCidr: `${formatIpv4(lanNet.ip)}/${prefix}` };
    this.routerLanNext.set(lanKey(view), 2);
    return view;
  }

  /** A host on the router's LAN ("eth0", next free address) with its default route through the router. */
  async hostBehind(router: Router, name: string): Promise<Host> {
    const host = await this.addHost(name);
    await this.attachBehind(host, router);
    return host;
  }

  /** Moves a host to another router's LAN (roaming): its old link disappears, it gets a new LAN address. */
  async moveBehind(host: Host, router: Router): Promise<void> {
    const h = this.host(host);
    for (const other of this.hosts.values()) this.ifNames.get(other.ns)?.delete(h.name);
    await this.exec(h, 'ip', ['link', 'del', 'dev', 'eth0']);
    this.ifNames.get(h.ns)?.delete('eth0');
    h.ip = '';
    await this.attachBehind(h, router);
  }

  /** Sets the router's UDP conntrack timeouts (seconds); unset fields keep their value. */
  async setUdpTimeouts(
    router: HostRef,
    timeouts: { udpTimeoutSec?: number; udpStreamTimeoutSec?: number },
  ): Promise<void> {
    const values: Record<string, number> = {};
    if (timeouts.udpTimeoutSec !== undefined) values['net.netfilter.nf_conntrack_udp_timeout'] = timeouts.udpTimeoutSec;
    if (timeouts.udpStreamTimeoutSec !== undefined)
      values['net.netfilter.nf_conntrack_udp_timeout_stream'] = timeouts.udpStreamTimeoutSec;
    if (Object.keys(values).length > 0) await this.sysctl(router, values);
  }

  /** Forgets every NAT mapping of the router (conntrack -F). */
  async flushConntrack(router: HostRef): Promise<void> {
    await this.exec(router, 'conntrack', ['-F'], { check: false });
  }

  /** The router's conntrack table as text (conntrack -L). */
  async conntrack(router: HostRef): Promise<string> {
    return (await this.exec(router, 'conntrack', ['-L'], { check: false })).stdout;
  }

  /** Counts matching packets at a netfilter hook in `ns` (default: forwarded ones). */
  async trafficCounter(ns: HostRef, match: CounterMatch): Promise<TrafficCounter> {
    return TrafficCounter.add(this.host(ns).ns, `c${++this.seq}`, match);
  }

  // ---- running things ----

  /** Runs a command to completion inside `ns` (default timeout 10 s; non-zero exit rejects unless check: false). */
  exec(ns: HostRef, cmd: string, args: readonly string[] = [], options?: ExecOptions): Promise<ExecResult> {
    return execIn(this.host(ns).ns, cmd, args, options);
  }

  /** Starts a long-running process inside `ns`; destroy() kills its process group. */
  async spawn(
    ns: HostRef,
    cmd: string,
    args: readonly string[] = [],
    options: SpawnInNsOptions = {},
  ): Promise<LabProcess> {
    this.assertAlive();
    const host = this.host(ns);
    const logFile = options.logFile ?? this.path(`${host.name}-${basename(cmd)}-${++this.seq}.log`);
    const proc = await LabProcess.start(host.ns, cmd, args, { logFile, env: options.env, cwd: options.cwd });
    this.processes.push(proc);
    return proc;
  }

  ping(ns: HostRef, ip: string, options?: PingOptions): Promise<PingResult> {
    return pingFrom(this.host(ns).ns, ip, options);
  }

  /** A path inside the lab's scratch directory. */
  path(name: string): string {
    return join(this.tmpdir, name);
  }

  /** The namespaces made so far. */
  allHosts(): Host[] {
    return [...this.hosts.values()];
  }

  /** The tail of every process log, for a failure message. */
  logTails(lines = 20): string {
    return this.processes.map((p) => `--- ${p.logFile}\n${p.logTail(lines)}`).join('\n');
  }

  // ---- teardown ----

  /** Kills every process, deletes every namespace (and with it every veth and bridge), removes tmpdir. Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    unregisterLive(this);
    await Promise.all(this.processes.map((p) => p.kill(1000)));
    for (const host of this.hosts.values()) {
      deleteNamespaceSync(host.ns);
      forgetCounters(host.ns);
    }
    this.removeTmpdir();
  }

  /** destroy() without waiting: SIGKILL and delete. For exit handlers. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const p of this.processes) p.killNow();
    for (const host of this.hosts.values()) deleteNamespaceSync(host.ns);
    this.removeTmpdir();
  }

  // ---- internals ----

  private removeTmpdir(): void {
    if (process.env.MESH_LAB_KEEP === '1') {
      process.stderr.write(`mesh lab: kept ${this.tmpdir}\n`);
      return;
    }
    rmSync(this.tmpdir, { recursive: true, force: true });
  }

  private async switchHost(): Promise<Host> {
    if (this.flatSwitch !== null) return this.flatSwitch;
    const sw = await this.addHost('sw');
    this.claimIfName(sw, 'br0');
    await this.exec(sw, 'ip', ['link', 'add', 'name', 'br0', 'type', 'bridge']);
    await this.exec(sw, 'ip', ['link', 'set', 'dev', 'br0', 'up']);
    this.flatSwitch = sw;
    return sw;
  }

  private async attachBehind(host: Host, router: Router): Promise<void> {
    const n = this.routerLanNext.get(lanKey(router)) ?? 2;
    this.routerLanNext.set(lanKey(router), n + 1);
    const [, prefix] = splitCidr(router.lanCidr);
    const ip = formatIpv4(parseCidr(router.lanCidr).ip + n);
    const { ifB } = await this.link(host, router, { addrA: `${ip}/${prefix}`, ifA: 'eth0' });
    await this.exec(router, 'ip', ['link', 'set', 'dev', ifB, 'master', router.lanIf ?? LAN_IF]);
    await this.exec(host, 'ip', ['route', 'add', 'default', 'via', router.lanIp]);
    host.ip = ip;
  }

  private async sysctl(host: HostRef, values: Record<string, number>): Promise<void> {
    const args = Object.entries(values).map(([key, value]) => `${key}=${value}`);
    await this.exec(host, 'sysctl', ['-q', '-w', ...args]);
  }

  private claimIfName(host: Host, preferred: string): string {
    const used = this.ifNames.get(host.ns) as Set<string>;
    let name = preferred;
    for (let i = 0; name.length > 15 || used.has(name); i++) name = `if${i}`;
    used.add(name);
    return name;
  }

  private host(ref: HostRef): Host {
    this.assertAlive();
    const name = typeof ref === 'string' ? ref : ref.name;
    const host = this.hosts.get(name) ?? [...this.hosts.values()].find((h) => h.ns === name);
    if (host === undefined) throw new Error(`no host ${name} in lab ${this.prefix}`);
    return host;
  }

  private assertAlive(): void {
    if (this.destroyed) throw new Error(`lab ${this.prefix} has been destroyed`);
  }
}
