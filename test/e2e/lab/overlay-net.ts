import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { formatIpv4, networkOf, parseCidr } from '../../../pkg/ip/ipv4.js';
import type { Host, Lab } from './lab.js';
import { nebulaImpl } from './nebula-impl.js';
import { deepMerge, overlayConfig, writeOverlayConfig } from './overlay-config.js';
import type { Cipher, LogLevel } from './overlay-config.js';
import { startNode } from './overlay-node.js';
import type { OverlayImpl } from './overlay-node.js';
import { createCa, signHostCert } from './pki.js';
import type { CaFiles, HostCertFiles } from './pki.js';
import type { ExitInfo, LabProcess } from './process.js';

// One overlay network in the lab: a CA, and nodes numbered .1, .2, … in start order, each signed, configured and
// started in its namespace. Lighthouses and relays started earlier are wired into the config of later nodes, so the
// usual order is: lighthouse(s) first, then the rest.

export interface OverlayNetOptions {
  /** Overlay network; default 10.99.0.0/24. */
  cidr?: string;
  /** Every node's cipher unless a node says otherwise; default 'aes'. */
  cipher?: Cipher;
  logLevel?: LogLevel;
  caName?: string;
}

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
  ) {}

  static async create(lab: Lab, options: OverlayNetOptions = {}): Promise<OverlayNet> {
    const id = ++netSeq;
    const dir = lab.path(`overlay${id}`);
    mkdirSync(dir, { recursive: true });
    const ca = await createCa(dir, { name: options.caName ?? `Lab CA ${id}` });
    return new OverlayNet(lab, id, dir, options.cidr ?? '10.99.0.0/24', ca, options);
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
    const vpnIp = options.vpnIp ?? formatIpv4(networkOf(net).ip + this.nextHost++);
    const cert = await signHostCert(this.dir, this.ca, {
      name: options.name,
      vpnCidr: `${vpnIp}/${prefix}`,
      groups: options.groups,
      subnets: options.subnets,
      duration: options.certDuration,
    });
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
      lighthouses: lighthouses.map((lh) => ({ vpnIp: lh.vpnIp, endpoints: lh.endpoints })),
      lighthouseInterval: options.lighthouseInterval,
      amRelay: options.relay,
      relays: relays.map((r) => r.vpnIp),
      punchy: options.punchy,
      firewall: options.firewall,
      overrides: options.config,
    });
    const configPath = join(this.dir, `${options.name}.yml`);
    writeOverlayConfig(configPath, config);
    const impl = options.impl ?? nebulaImpl;
    const proc = await startNode(this.lab, host, impl, configPath, {
      wait: options.wait,
      readyTimeoutMs: options.readyTimeoutMs,
      logFile: join(this.dir, `${options.name}.log`),
    });
    const node = new OverlayNode(this.lab, options.name, host, vpnIp, options.endpoints ?? [`${host.ip}:${listenPort}`], configPath, config, impl, cert, proc, {
      lighthouse: options.lighthouse ?? false,
      relay: options.relay ?? false,
    });
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
    this.process = await startNode(this.lab, this.host, this.impl, this.configPath, { ...options, logFile: this.process.logFile });
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
