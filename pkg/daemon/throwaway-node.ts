// The set-up of a throwaway in-process node: a CA of its own, a host certificate it signs, the config validated as
// the daemon's is, the CA pool, identity and firewall (allow all), ready for MeshNode.start. The start-up warm-up
// (warm-up.ts) makes its three nodes with it; the in-process benches make theirs with it too, on another build's
// modules when they compare builds side by side, so every function it calls comes from `NodeSetupModules` (the
// running daemon passes its own) and none from an import of this file: a bench that loads an older build's dist
// still sets that build's node up with its own classes.

import type * as CertModule from '../cert/index.js';
import type { NebulaCertificate } from '../cert/index.js';
import type { Clock } from '../clock/clock.js';
import type * as ConfigModule from '../config/index.js';
import type * as FirewallModule from '../firewall/firewall.js';
import type * as IdentityModule from '../handshake/identity.js';
import type * as Ipv4Module from '../ip/ipv4.js';
import type { Logger } from '../log/logger.js';
import type { UdpConn } from '../udp/udp-conn.js';
import type * as FirewallSetupModule from './firewall-setup.js';
import type { NodeSetup } from './node.js';
import type * as StaticHostsModule from './static-hosts.js';

/** The functions and classes a throwaway node is made with: one build's, all from the same dist. */
export interface NodeSetupModules {
  readonly cert: Pick<
    typeof CertModule,
    | 'CaPool'
    | 'certificateToPem'
    | 'encodePem'
    | 'fingerprint'
    | 'generateEd25519KeyPair'
    | 'generateX25519KeyPair'
    | 'signCertificate'
    | 'X25519_PRIVATE_KEY_BANNER'
  >;
  readonly config: Pick<typeof ConfigModule, 'validateConfig'>;
  readonly firewall: Pick<typeof FirewallModule, 'Firewall' | 'parseFirewallRules'>;
  readonly identity: Pick<typeof IdentityModule, 'localIdentity'>;
  readonly firewallSetup: Pick<typeof FirewallSetupModule, 'localNets'>;
  readonly staticHosts: Pick<typeof StaticHostsModule, 'resolveStaticHosts'>;
  readonly ipv4: Pick<typeof Ipv4Module, 'parseCidr'>;
}

/** A throwaway CA: its certificate and the private key that signs its nodes'. */
export interface ThrowawayCa {
  readonly cert: NebulaCertificate;
  readonly key: Uint8Array;
}

/** How long a throwaway CA is valid either side of its making: its nodes live for a run, not for hours. */
const VALID_S = 3600;

/** A CA named `name`, valid an hour either side of `unixMs`. */
export function throwawayCa(mods: NodeSetupModules, name: string, unixMs: number): ThrowawayCa {
  const now = Math.floor(unixMs / 1000);
  const keys = mods.cert.generateEd25519KeyPair();
  const cert = mods.cert.signCertificate(
    {
      name,
      ips: [],
      subnets: [],
      groups: [],
      notBefore: now - VALID_S,
      notAfter: now + VALID_S,
      publicKey: keys.publicKey,
      isCA: true,
      issuer: '',
    },
    keys.privateKey,
  );
  return { cert, key: keys.privateKey };
}

/** One throwaway node: who it is, the config keys of its role, and what it runs on. */
export interface ThrowawayNode {
  /** The certificate's name. */
  readonly name: string;
  /** Its overlay address with the network's prefix length, e.g. '100.127.255.1/30'. */
  readonly vpnCidr: string;
  /**
   * Config keys of its role (listen, static_host_map, lighthouse, tun, ...), over the common ones: the pki, a
   * firewall that allows everything, logging at error, no port mapping.
   */
  readonly settings: Record<string, unknown>;
  /** What validation errors name as the config's source. */
  readonly source: string;
  readonly udp: UdpConn;
  readonly tun?: NodeSetup['tun'];
  readonly clock: Clock;
  readonly log: Logger;
}

/** The NodeSetup of `node`, its certificate signed by `ca`. */
export async function throwawayNodeSetup(
  mods: NodeSetupModules,
  ca: ThrowawayCa,
  node: ThrowawayNode,
): Promise<NodeSetup> {
  const { cert: c } = mods;
  const keys = c.generateX25519KeyPair();
  const hostCert = c.signCertificate(
    {
      name: node.name,
      ips: [mods.ipv4.parseCidr(node.vpnCidr)],
      subnets: [],
      groups: [],
      // The CA's own validity: a clock second later than the CA's, an hour from then would outlive its signer, and
      // every handshake with this node would be refused ("expires after signing certificate").
      notBefore: ca.cert.details.notBefore,
      notAfter: ca.cert.details.notAfter,
      publicKey: keys.publicKey,
      isCA: false,
      issuer: c.fingerprint(ca.cert),
    },
    ca.key,
  );
  const { config } = mods.config.validateConfig(
    {
      pki: {
        ca: c.certificateToPem(ca.cert),
        cert: c.certificateToPem(hostCert),
        key: c.encodePem(c.X25519_PRIVATE_KEY_BANNER, keys.privateKey),
      },
      firewall: {
        outbound: [{ port: 'any', proto: 'any', host: 'any' }],
        inbound: [{ port: 'any', proto: 'any', host: 'any' }],
      },
      logging: { level: 'error' },
      portmap: { enabled: false },
      ...node.settings,
    },
    undefined,
    node.source,
  );
  const caPool = new c.CaPool();
  caPool.addCa(ca.cert);
  const pki = { caPool, identity: mods.identity.localIdentity(hostCert, keys.privateKey), warnings: [] };
  const { vpnNetworks, unsafeNetworks } = pki.identity;
  const firewall = new mods.firewall.Firewall(mods.firewall.parseFirewallRules(config.firewall), {
    clock: node.clock,
    localNets: mods.firewallSetup.localNets(pki),
    vpnNetworks,
    unsafeNetworks,
  });
  return {
    config,
    pki,
    firewall,
    staticHosts: await mods.staticHosts.resolveStaticHosts(config.staticHostMap, vpnNetworks),
    clock: node.clock,
    log: node.log,
    udp: node.udp,
    tun: node.tun,
    watchAddresses: false,
    localNetworks: () => [],
  };
}
