import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { formatIpv4, networkOf, parseCidr } from '../../../pkg/ip/ipv4.js';
import type { Host, Lab } from './lab.js';
import { nebulaImpl } from './nebula-impl.js';
import { deepMerge, overlayConfig, writeOverlayConfig } from './overlay-config.js';
import type { Cipher, LogLevel } from './overlay-config.js';
import { startNode } from './overlay-node.js';
import type { OverlayImpl } from './overlay-node.js';
import { createCa, signHostCert, signHostCertV2 } from './pki.js';
import type { CaFiles, HostCertFiles } from './pki.js';
import type { ExitInfo, LabProcess } from './process.js';

// One overlay network in the lab: a CA, and nodes numbered .1, .2, … in start order, each signed, configured and
// started in its namespace. Lighthouses and relays started earlier are wired into the config of later nodes, so the
// usual order is: lighthouse(s) first, then the rest.
//
// With `ipv6: true` the network also has an IPv6 overlay prefix, a ULA /64 unique per network and run
// (fdXX:XXXX:XXXX:XXXX::/64, RFC 4193 random global ID), and node n gets both 10.99.0.n and <prefix>::n (hex) in a
// v2 certificate (docs/ipv6.md). A node's `stack` picks its families ('dual', 'v4', 'v6'); nebula 1.6.1 nodes
// get v1 certificates and IPv4 only. Each node names the lighthouses and relays by an address of a family it has
// (Nebula 1.10 keeps only the peer addresses inside our own networks).

export interface OverlayNetOptions {
  /** Overlay network; default 10.99.0.0/24. */
  cidr?: string;
  /** Every node's cipher unless a node says otherwise; default 'aes'. */
  cipher?: Cipher;
  logLevel?: LogLevel;
  caName?: string;
  /** Also an IPv6 overlay: a random ULA /64 per network, and v2 certificates for mesh nodes. */
  ipv6?: boolean;
}

export type OverlayStack = 'dual' | 'v4' | 'v6';

export interface OverlayNodeOptions {
  /** Certificate name; also names the node's files. */
  name: string;
  /** Default: the next free address of the network. */
  vpnIp?: string;
  /** Default nebulaImpl. */
  impl?: OverlayImpl;
  lighthouse?: boolean;
  /** relay.am_relay */
  relay?: boolean;
  /** Default: every lighthouse started so far. */
  lighthouses?: OverlayNode[];
  /** Relays that can reach this node; default: every relay started so far. */
  relays?: OverlayNode[];
  groups?: string[];
  subnets?: string[];
  /** Which overlay families the node has (needs `ipv6` on the network for 'dual' and 'v6'); default 'dual' for mesh
   *  nodes of an IPv6 network, else 'v4'. */
  stack?: OverlayStack;
  /** The family by which this node names lighthouses and relays (static_host_map, lighthouse.hosts, relay.relays);
   *  default the first of its own. */
  peerFamily?: 4 | 6;
  /** Certificate version: 1 (nebula-cert, IPv4), 2 (mesh-cert), '1+2' (a v1+v2 bundle on one key). Default 2 for
   *  mesh nodes of an IPv6 network, else 1. */
  certVersion?: 1 | 2 | '1+2';
  /** The certificate's validity as a Go duration ('8s'); default nebula-cert's. */
  certDuration?: string;
  /** Default 4242. */
  listenPort?: number;
  /** Underlay "ip:port" that later nodes put in static_host_map for this node; default host.ip:listenPort. */
  endpoints?: string[];
  cipher?: Cipher;
  logLevel?: LogLevel;
  punchy?: { punch?: boolean; respond?: boolean; delay?: string };
  firewall?: Record<string, unknown>;
  tunDisabled?: boolean;
  lighthouseInterval?: number;
  /** Deep-merged over the generated config. */
  config?: Record<string, unknown>;
  /** Default true: wait for the ready log line. */
  wait?: boolean;
  readyTimeoutMs?: number;
}

let netSeq = 0;

export class OverlayNet {
  readonly nodes: OverlayNode[] = [];
  private nextHost = 1;

  private constructor(
    readonly lab: Lab,
    readonly id: number,
    readonly dir: string,
    readonly cidr: string,
    readonly ca: CaFiles,
    readonly options: OverlayNetOptions,
    /** The IPv6 overlay prefix ('fd12:3456:789a:bcde::/64'), when the network has one. */
    readonly cidr6: string | undefined,
  ) {}

  static async create(lab: Lab, options: OverlayNetOptions = {}): Promise<OverlayNet> {
    const id = ++netSeq;
    const dir = lab.path(`overlay${id}`);
    mkdirSync(dir, { recursive: true });
    const ca = await createCa(dir, { name: options.caName ?? `Lab CA ${id}` });
    return new OverlayNet(
      lab,
      id,
      dir,
      options.cidr ?? '10.99.0.0/24',
      ca,
      options,
      options.ipv6 === true ? randomUlaPrefix() : undefined,
    );
  }

  /** Host number n of the IPv6 overlay prefix, canonical text ('fd12:3456:789a:bcde::a' for 10). */
  ip6(n: number): string {
    if (this.cidr6 === undefined)
      throw new Error('this overlay network has no IPv6 prefix (OverlayNet.create with ipv6: true)');
    return `${this.cidr6.split('::/')[0]}::${n.toString(16)}`;
  }

  get lighthouses(): OverlayNode[] {
    return this.nodes.filter((n) => n.isLighthouse);
  }

  get relays(): OverlayNode[] {
    return this.nodes.filter((n) => n.isRelay);
  }

  /** Signs a cert, writes the config and starts the node in `host`. */
  async start(host: Host, options: OverlayNodeOptions): Promise<OverlayNode> {
    const net = parseCidr(this.cidr);
    const prefix = this.cidr.split('/')[1];
    // An explicit vpnIp takes no number from the sequence (as before IPv6); its IPv6 twin has its last octet.
    const hostNumber = options.vpnIp === undefined ? this.nextHost++ : Number(options.vpnIp.split('.')[3]);
    const vpnIp4 = options.vpnIp ?? formatIpv4(networkOf(net).ip + hostNumber);
    const impl = options.impl ?? nebulaImpl;
    const isMesh = impl.name === 'mesh';
    const stack = options.stack ?? (this.cidr6 !== undefined && isMesh ? 'dual' : 'v4');
    const certVersion = options.certVersion ?? (this.cidr6 !== undefined && isMesh ? 2 : 1);
    if (certVersion === 1 && stack !== 'v4')
      throw new Error(`node ${options.name}: IPv6 overlay addresses need a v2 certificate`);
    const networks: string[] = [];
    if (stack !== 'v6') networks.push(`${vpnIp4}/${prefix}`);
    if (stack !== 'v4') networks.push(`${this.ip6(hostNumber)}/64`);
    const cert =
      certVersion === 1
        ? await signHostCert(this.dir, this.ca, {
            name: options.name,
            vpnCidr: `${vpnIp4}/${prefix}`,
            groups: options.groups,
            subnets: options.subnets,
            duration: options.certDuration,
          })
        : await signHostCertV2(this.dir, this.ca, {
            name: options.name,
            networks,
            groups: options.groups,
            unsafeNetworks: options.subnets,
            duration: options.certDuration,
            withV1: certVersion === '1+2',
          });
    const vpnIp = cert.vpnIp;
    if (stack !== 'v4') await enableOverlayIpv6(this.lab, host);
    const families = options.peerFamily !== undefined ? [options.peerFamily] : cert.vpnIps.map(familyOf);
    const listenPort = options.listenPort ?? 4242;
    const lighthouses = options.lighthouse ? [] : (options.lighthouses ?? this.lighthouses);
    const relays = (options.relays ?? this.relays).filter((r) => r.vpnIp !== vpnIp);
    const config = overlayConfig({
      pki: { ca: this.ca.crt, cert: cert.crt, key: cert.key },
      tunDev: `nb${this.id}n${this.nodes.length + 1}`,
      tunDisabled: options.tunDisabled,
      listenPort,
      cipher: options.cipher ?? this.options.cipher,
      logLevel: options.logLevel ?? this.options.logLevel,
      amLighthouse: options.lighthouse,
      lighthouses: lighthouses.map((lh) => ({ vpnIp: lh.addressFor(families), endpoints: lh.endpoints })),
      lighthouseInterval: options.lighthouseInterval,
      amRelay: options.relay,
      relays: relays.map((r) => r.addressFor(families)),
      punchy: options.punchy,
      firewall: options.firewall,
      overrides: options.config,
    });
    const configPath = join(this.dir, `${options.name}.yml`);
    writeOverlayConfig(configPath, config);
    const proc = await startNode(this.lab, host, impl, configPath, {
      wait: options.wait,
      readyTimeoutMs: options.readyTimeoutMs,
      logFile: join(this.dir, `${options.name}.log`),
    });
    const node = new OverlayNode(
      this.lab,
      options.name,
      host,
      vpnIp,
      options.endpoints ?? [`${host.ip}:${listenPort}`],
      configPath,
      config,
      impl,
      cert,
      proc,
      {
        lighthouse: options.lighthouse ?? false,
        relay: options.relay ?? false,
      },
    );
    this.nodes.push(node);
    return node;
  }
}

export class OverlayNode {
  readonly isLighthouse: boolean;
  readonly isRelay: boolean;

  constructor(
    private readonly lab: Lab,
    readonly name: string,
    readonly host: Host,
    readonly vpnIp: string,
    /** Underlay "ip:port" others use for this node in static_host_map. */
    readonly endpoints: string[],
    readonly configPath: string,
    public config: Record<string, unknown>,
    readonly impl: OverlayImpl,
    readonly cert: HostCertFiles,
    public process: LabProcess,
    roles: { lighthouse: boolean; relay: boolean },
  ) {
    this.isLighthouse = roles.lighthouse;
    this.isRelay = roles.relay;
  }

  /** Every overlay address (certificate order; the first is vpnIp). */
  get vpnIps(): string[] {
    return this.cert.vpnIps;
  }

  /** The node's IPv4 overlay address, when it has one. */
  get vpnIp4(): string | undefined {
    return this.cert.vpnIps.find((ip) => familyOf(ip) === 4);
  }

  /** The node's IPv6 overlay address, when it has one. */
  get vpnIp6(): string | undefined {
    return this.cert.vpnIps.find((ip) => familyOf(ip) === 6);
  }

  /** The node's address of family `family`; throws naming the node when it has none. */
  address(family: 4 | 6): string {
    const ip = family === 4 ? this.vpnIp4 : this.vpnIp6;
    if (ip === undefined)
      throw new Error(`node ${this.name} has no IPv${family} overlay address (${this.vpnIps.join(', ')})`);
    return ip;
  }

  /** The first of our addresses in one of `families` (how a node with those families names us), else vpnIp. */
  addressFor(families: ReadonlyArray<4 | 6>): string {
    return this.cert.vpnIps.find((ip) => families.includes(familyOf(ip))) ?? this.vpnIp;
  }

  log(): string {
    return this.process.log();
  }

  waitForLog(pattern: RegExp, timeoutMs: number, since?: number): Promise<RegExpMatchArray> {
    return this.process.waitForLog(pattern, timeoutMs, since);
  }

  /** SIGTERM (a Nebula node then closes its tunnels), SIGKILL after 2 s. */
  stop(): Promise<ExitInfo> {
    return this.process.kill();
  }

  /** Starts the node again with its current config file (after stop(), or to replace a crashed process). */
  async restart(options: { wait?: boolean; readyTimeoutMs?: number } = {}): Promise<void> {
    await this.process.kill();
    this.process = await startNode(this.lab, this.host, this.impl, this.configPath, {
      ...options,
      logFile: this.process.logFile,
    });
  }

  /** Merges `overrides` into the config file; call reload() or restart() to apply. */
  updateConfig(overrides: Record<string, unknown>): void {
    this.config = deepMerge(this.config, overrides);
    writeOverlayConfig(this.configPath, this.config);
  }

  /** SIGHUP: reload the config file. */
  reload(): void {
    this.process.signal('SIGHUP');
  }
}

/**
 * A namespace of the lab has IPv6 off (Lab.addHost). A node with an IPv6 overlay address needs it on its TUN (made
 * after this, so `default` is enough) and on lo (local delivery); the underlay interfaces stay IPv4-only. Without
 * it mesh cannot put its IPv6 networks on the TUN and exits ("IPv6 is disabled on this device"), as Nebula would.
 */
export async function enableOverlayIpv6(lab: Lab, host: Host): Promise<void> {
  await lab.exec(host, 'sysctl', [
    '-q',
    '-w',
    'net.ipv6.conf.default.disable_ipv6=0',
    'net.ipv6.conf.lo.disable_ipv6=0',
    'net.ipv6.conf.default.accept_dad=0',
  ]);
}

export function familyOf(ip: string): 4 | 6 {
  return ip.includes(':') ? 6 : 4;
}

/** fdXX:XXXX:XXXX:XXXX::/64 with random, non-zero groups (so the text is canonical: nothing to compress). */
export function randomUlaPrefix(): string {
  const b = randomBytes(8);
  const groups = [0xfd00 | b[0]!, ...[1, 3, 5].map((i) => (b[i]! << 8) | b[i + 1]! || 1)];
  return `${groups.map((g) => g.toString(16)).join(':')}::/64`;
}
