// Starts a node from a config path: load and validate everything first (config, certificates, firewall,
// static hosts), so that a bad file gives one clear error and a non-zero exit before any socket opens.

import { bareHost } from '../config/addresses.js';
import { dirname, resolve } from 'node:path';
import { statSync } from 'node:fs';
import { loadConfig, type LoadedConfig, type MeshConfig, type StatsConfig } from '../config/index.js';
import { ControlService } from '../control/control-service.js';
import { ControlError, ControlErrorCode } from '../control/protocol.js';
import type { ReloadReply } from '../control/reports.js';
import { configuredSocketPath, defaultSocketPaths } from '../control/socket-path.js';
import { Firewall } from '../firewall/firewall.js';
import { Logger } from '../log/logger.js';
import { LighthouseDns } from '../lighthouse/dns-server.js';
import { BatchConn } from '../udp/batch-conn.js';
import { DgramConn, type UdpConn } from '../udp/udp-conn.js';
import { PrometheusExporter } from '../metrics/prometheus-exporter.js';
import { buildFirewall, firewallRules } from './firewall-setup.js';
import { resolveListenHost } from './listen-host.js';
import { MeshNode } from './node.js';
import { loadPki, type Pki } from './pki.js';
import { formatIpPrefix, type IpPrefix } from '../ip/prefix.js';
import { checkOverlayConfig } from './overlay-checks.js';
import { resolveStaticHosts } from './static-hosts.js';
import { unsupportedSettings } from './unsupported.js';

export interface Prepared {
  loaded: LoadedConfig;
  pki: Pki;
  firewall: Firewall;
  baseDir: string;
}

export function configBaseDir(configPath: string): string {
  const abs = resolve(configPath);
  try {
    return statSync(abs).isDirectory() ? abs : dirname(abs);
  } catch {
    return dirname(abs);
  }
}

/** Everything `mesh -test` checks. Throws an error whose message names the file, key or line. */
export function prepare(configPath: string): Prepared {
  const loaded = loadConfig(configPath);
  const baseDir = configBaseDir(configPath);
  const pki = loadPki(loaded.config, baseDir);
  pki.warnings.push(...checkOverlayConfig(loaded.config, pki.identity.vpnNetworks, loaded.locate));
  const firewall = buildFirewall(loaded, pki);
  return { loaded, pki, firewall, baseDir };
}

export async function startDaemon(configPath: string, log?: Logger): Promise<MeshNode> {
  const prepared = prepare(configPath);
  const { config, warnings } = prepared.loaded;
  const logger =
    log ?? new Logger(config.logging.level, config.logging.format, undefined, config.logging.disableTimestamp);
  const notes = [
    ...warnings,
    ...prepared.pki.warnings,
    ...prepared.firewall.currentRules.warnings,
    ...unsupportedSettings(config),
  ];
  for (const w of notes) logger.warn(w);
  const staticHosts = await resolveStaticHosts(config.staticHostMap, prepared.pki.identity.vpnNetworks);
  const udp = await openUnderlay(await resolveListenHost(prepared.loaded), logger);
  try {
    return await MeshNode.start({
      config,
      pki: prepared.pki,
      firewall: prepared.firewall,
      staticHosts,
      log: logger,
      udp,
      tcp: true,
      secondPort: true,
    });
  } catch (e) {
    await udp.close();
    throw e;
  }
}

/**
 * The listen socket: batched through the addon (recvmmsg/sendmmsg, listen.batch datagrams per read) unless the
 * addon cannot load, then node:dgram. MESH_UDP=dgram forces the fallback (benchmarks compare the two).
 */
export async function openUnderlay(
  listen: Pick<MeshConfig['listen'], 'host' | 'port' | 'batch' | 'readBuffer' | 'writeBuffer' | 'gro'>,
  log: Logger,
): Promise<UdpConn> {
  const host = bareHost(listen.host);
  const opts = { host, port: listen.port, readBuffer: listen.readBuffer, writeBuffer: listen.writeBuffer };
  if (process.env.MESH_UDP !== 'dgram') {
    try {
      return await BatchConn.open({ ...opts, batchSize: listen.batch, gro: listen.gro });
    } catch (e) {
      if ((e as { code?: string }).code !== 'EADDON') throw e;
      log.warn('Batched UDP unavailable, using node:dgram', { error: (e as Error).message });
    }
  }
  return DgramConn.open(opts);
}

function sameNetworks(a: readonly IpPrefix[], b: readonly IpPrefix[]): boolean {
  return a.length === b.length && a.every((n, i) => formatIpPrefix(n) === formatIpPrefix(b[i]));
}

/** What a reload did: applied (with settings that wait for a restart) or refused, and why. */
export type ReloadOutcome = { ok: true; restartNeeded: string[] } | { ok: false; error: string };

/**
 * SIGHUP: re-reads the config and applies it only when everything validates; on any error the running config stays
 * and the error is logged as one line.
 */
export async function reloadDaemon(node: MeshNode, configPath: string): Promise<ReloadOutcome> {
  try {
    const loaded = loadConfig(configPath);
    const pki = loadPki(loaded.config, configBaseDir(configPath));
    pki.warnings.push(...checkOverlayConfig(loaded.config, pki.identity.vpnNetworks, loaded.locate));
    const oldIp = node.identity().vpnIp;
    if (pki.identity.vpnIp !== oldIp)
      throw new Error('pki.cert: the new certificate has a different IP; restart to change it');
    // The TUN holds every network's address and route from the start: another set needs a restart too.
    if (!sameNetworks(pki.identity.vpnNetworks, node.identity().vpnNetworks)) {
      throw new Error('pki.cert: the new certificate has different networks; restart to change them');
    }
    const rules = firewallRules(loaded, pki);
    const staticHosts = await resolveStaticHosts(loaded.config.staticHostMap, pki.identity.vpnNetworks);
    const notes = node.applyReload({ config: loaded.config, pki, rules, staticHosts });
    for (const w of [...loaded.warnings, ...pki.warnings, ...rules.warnings]) node.log.warn(w);
    node.log.info('Config reloaded', { restartNeeded: notes.join(', ') || undefined });
    return { ok: true, restartNeeded: notes };
  } catch (e) {
    node.log.error('Reload failed, keeping the running config', { error: (e as Error).message });
    return { ok: false, error: (e as Error).message };
  }
}

// ---- operability (issue 8): the node with its control socket and metrics endpoint ----

function controlSocketPaths(config: MeshConfig, configPath: string): string[] {
  const socket = config.control.socket;
  return socket ? [configuredSocketPath(socket, configBaseDir(configPath))] : defaultSocketPaths(configPath);
}

async function startStats(node: MeshNode, stats: StatsConfig): Promise<PrometheusExporter | null> {
  if (stats.type !== 'prometheus') {
    if (stats.type) node.log.warn('stats.type is not supported, no metrics are exported', { statsType: stats.type });
    return null;
  }
  const opts = {
    listen: stats.listen,
    path: stats.path,
    intervalMs: stats.intervalMs ?? 10_000,
    namespace: stats.namespace,
    subsystem: stats.subsystem,
  };
  const exporter = await PrometheusExporter.start(node, opts);
  node.log.info('Prometheus metrics listening', { listen: stats.listen, path: stats.path });
  return exporter;
}

/** A running daemon: the node, its control socket (null if it could not open) and its metrics exporter. */
export class Daemon {
  private reloading: Promise<unknown> = Promise.resolve();
  /** lighthouse.serve_dns (pkg/lighthouse/dns-server.ts); null until started. */
  dns: LighthouseDns | null = null;

  private constructor(
    readonly node: MeshNode,
    readonly configPath: string,
    public control: ControlService | null,
    public stats: PrometheusExporter | null,
  ) {}

  static async start(configPath: string, log?: Logger): Promise<Daemon> {
    const node = await startDaemon(configPath, log);
    const config = node.currentConfig();
    const daemon = new Daemon(node, configPath, null, null);
    try {
      daemon.stats = await startStats(node, config.stats);
      daemon.control = await ControlService.start(node, {
        socketPaths: controlSocketPaths(config, configPath),
        socketConfigured: Boolean(config.control.socket),
        reload: () => daemon.reloadForControl(),
      });
      node.log.info('Control socket listening', { path: daemon.control.path });
      // lighthouse DNS: last, as in Nebula, so that dns.host may be the overlay IP.
      daemon.dns = await LighthouseDns.start(node);
    } catch (e) {
      await daemon.stop();
      throw e;
    }
    return daemon;
  }

  /** SIGHUP and `mesh reload`; one at a time. Stats follow the new config; the control socket needs a restart. */
  reload(): Promise<ReloadOutcome> {
    const run = this.reloading.then(async (): Promise<ReloadOutcome> => {
      const before = this.node.currentConfig();
      const outcome = await reloadDaemon(this.node, this.configPath);
      if (!outcome.ok) return outcome;
      const after = this.node.currentConfig();
      if (after.control.socket !== before.control.socket)
        outcome.restartNeeded.push('control (needs a restart to apply)');
      if (JSON.stringify(after.stats) !== JSON.stringify(before.stats)) {
        await this.stats?.close();
        this.stats = null;
        try {
          this.stats = await startStats(this.node, after.stats);
        } catch (e) {
          this.node.log.error('Metrics exporter failed to start after reload', { error: (e as Error).message });
        }
      }
      // lighthouse DNS: restarts when lighthouse.dns.host/port moved.
      if (this.dns) outcome.restartNeeded.push(...(await this.dns.reload(after)));
      return outcome;
    });
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async reloadForControl(): Promise<ReloadReply> {
    const outcome = await this.reload();
    if (!outcome.ok)
      throw new ControlError(
        ControlErrorCode.reloadFailed,
        `reload refused, the running config stays: ${outcome.error}`,
      );
    return { restartNeeded: outcome.restartNeeded };
  }

  async stop(): Promise<void> {
    await this.dns?.close(); // lighthouse DNS
    await this.control?.close();
    await this.stats?.close();
    await this.node.stop();
  }
}
