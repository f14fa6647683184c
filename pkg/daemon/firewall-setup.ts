// Builds the firewall from the config, turning a rule error into one line that names the file and line.

import type { LoadedConfig } from '../config/index.js';
import { Firewall, FirewallConfigError, parseFirewallRules, type FirewallRules } from '../firewall/firewall.js';
import { systemClock } from '../clock/clock.js';
import type { Ipv4Net } from '../ip/ipv4.js';
import type { Pki } from './pki.js';

export class FirewallSetupError extends Error {
  override name = 'FirewallSetupError';
  readonly code = 'EFIREWALLCONFIG';
}

export function firewallRules(loaded: LoadedConfig): FirewallRules {
  try {
    return parseFirewallRules(loaded.config.firewall);
  } catch (e) {
    if (e instanceof FirewallConfigError) {
      const where = loaded.locate(e.keyPath);
      const prefix = where ? `${where.file}:${where.line}: ` : '';
      throw new FirewallSetupError(`${prefix}${e.message}`);
    }
    throw e;
  }
}

export function localNets(pki: Pki): Ipv4Net[] {
  const d = pki.identity.cert.details;
  return [...d.ips.map((n) => ({ ip: n.ip, mask: 0xffffffff })), ...d.subnets];
}

export function buildFirewall(loaded: LoadedConfig, pki: Pki): Firewall {
  return new Firewall(firewallRules(loaded), { clock: systemClock, localNets: localNets(pki) });
}
