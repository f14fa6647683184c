// Builds the firewall from the config, turning a rule error into one line that names the file and line.

import type { LoadedConfig } from '../config/index.js';
import {
  Firewall,
  FirewallConfigError,
  parseFirewallRules,
  type FirewallNetworks,
  type FirewallRules,
} from '../firewall/firewall.js';
import { systemClock } from '../clock/clock.js';
import type { Ipv4Net } from '../ip/ipv4.js';
import type { Pki } from './pki.js';

export class FirewallSetupError extends Error {
  override name = 'FirewallSetupError';
  readonly code = 'EFIREWALLCONFIG';
}

/** `pki`, when given, lets the rules warn about local_cidr on a host whose certificate has unsafe networks. */
export function firewallRules(loaded: LoadedConfig, pki?: Pki): FirewallRules {
  try {
    return parseFirewallRules(loaded.config.firewall, {
      unsafeNetworks: (pki?.identity.unsafeNetworks.length ?? 0) > 0,
    });
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

/**
 * Our local addresses as the firewall needs them: VPN addresses and unsafe networks from our certificate. The IPv4
 * ones as before; the firewall takes the IPv6 ones from vpnNetworks/unsafeNetworks (docs/ipv6.md).
 */
export function firewallNetworks(pki: Pki): FirewallNetworks {
  const { cert, vpnNetworks, unsafeNetworks } = pki.identity;
  const d = cert.details;
  return {
    localNets: localNets(pki),
    assignedNets: d.ips.slice(),
    unsafeNets: d.subnets.slice(),
    vpnNetworks,
    unsafeNetworks,
  };
}

export function buildFirewall(loaded: LoadedConfig, pki: Pki): Firewall {
  return new Firewall(firewallRules(loaded, pki), { clock: systemClock, ...firewallNetworks(pki) });
}
