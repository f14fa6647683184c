// Starts a node from a config path: load and validate everything first (config, certificates, firewall,
// static hosts), so that a bad file gives one clear error and a non-zero exit before any socket opens.

import { dirname, resolve } from 'node:path';
import { statSync } from 'node:fs';
import { loadConfig, type LoadedConfig } from '../config/index.js';
import { Firewall } from '../firewall/firewall.js';
import { Logger } from '../log/logger.js';
import { buildFirewall, firewallRules } from './firewall-setup.js';
import { MeshNode } from './node.js';
import { loadPki, type Pki } from './pki.js';
import { resolveStaticHosts } from './static-hosts.js';

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
  const firewall = buildFirewall(loaded, pki);
  return { loaded, pki, firewall, baseDir };
}

export async function startDaemon(configPath: string, log?: Logger): Promise<MeshNode> {
  const prepared = prepare(configPath);
  const { config, warnings } = prepared.loaded;
  const logger = log ?? new Logger(config.logging.level, config.logging.format, undefined, config.logging.disableTimestamp);
  for (const w of [...warnings, ...prepared.pki.warnings, ...prepared.firewall.currentRules.warnings]) logger.warn(w);
  const staticHosts = await resolveStaticHosts(config.staticHostMap, prepared.pki.identity.vpnNet);
  return MeshNode.start({ config, pki: prepared.pki, firewall: prepared.firewall, staticHosts, log: logger });
}

/**
 * SIGHUP: re-reads the config and applies it only when everything validates; on any error the running config stays
 * and the error is logged as one line.
 */
export async function reloadDaemon(node: MeshNode, configPath: string): Promise<boolean> {
  try {
    const loaded = loadConfig(configPath);
    const pki = loadPki(loaded.config, configBaseDir(configPath));
    const oldIp = node.identity().vpnIp;
    if (pki.identity.vpnIp !== oldIp) throw new Error('pki.cert: the new certificate has a different IP; restart to change it');
    const rules = firewallRules(loaded);
    const staticHosts = await resolveStaticHosts(loaded.config.staticHostMap, pki.identity.vpnNet);
    const notes = node.applyReload({ config: loaded.config, pki, rules, staticHosts });
    for (const w of [...loaded.warnings, ...pki.warnings, ...rules.warnings]) node.log.warn(w);
    node.log.info('Config reloaded', { restartNeeded: notes.join(', ') || undefined });
    return true;
  } catch (e) {
    node.log.error('Reload failed, keeping the running config', { error: (e as Error).message });
    return false;
  }
}
