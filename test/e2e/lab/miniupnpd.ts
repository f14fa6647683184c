import { existsSync, readFileSync, writeFileSync } from 'node:fs';

import type { Lab, Router } from './lab.js';
import { WAN_IF } from './nat.js';
import type { LabProcess } from './process.js';

// Debian's miniupnpd (nftables build) on a lab NAT router: UPnP-IGD, NAT-PMP and PCP with a config the test writes.
//
// miniupnpd refuses to forward ports when its external address is "reserved" (it checks RFC 5735/6890 ranges, and
// the lab's public addresses are documentation ranges), so the router gets an extra WAN address outside them,
// 11.0.113.<n> (a lab-only address: no lab namespace links to the root namespace, so it cannot be reached or leak),
// routed to it by the internet namespace, and its NAT translates to that address instead (keeping its kind: masq
// or random). Peers then see hosts behind this router at `publicIp`, not at router.wanIp.
//
// The nftables chains miniupnpd fills are the ones Debian's nft_init.sh makes (table inet filter; chains miniupnpd,
// prerouting_miniupnpd, postrouting_miniupnpd), except that the forward chain's policy stays accept like the rest
// of the lab's router.

export interface MiniupnpdOptions {
  /** miniupnpd's ext_ip: the external address it claims (default: the router's public address). */
  extIp?: string;
  /** min_lifetime (s) for PCP/NAT-PMP; default 120 (miniupnpd's own). */
  minLifetimeSec?: number;
  upnp?: boolean;
  natpmp?: boolean;
  /** Keep the router's WAN address and NAT as they are (then set extIp to something miniupnpd accepts). */
  keepWan?: boolean;
}

export interface Miniupnpd {
  proc: LabProcess;
  /** The address hosts behind the router appear at on the internet (and the mappings' external address). */
  publicIp: string;
  /** miniupnpd's own nftables table, as text (its DNAT rules show the mappings). */
  rules(): Promise<string>;
  /** The lease file's lines (one per mapping: PROTO:extport:intip:intport:expiry:desc). */
  leases(): string[];
}

/** The public address startMiniupnpd gives `router`. */
export function miniupnpdPublicIp(router: Router): string {
  return `11.0.113.${router.wanIp.split('.')[3]}`;
}

async function publicWan(lab: Lab, router: Router): Promise<string> {
  const pub = miniupnpdPublicIp(router);
  const inet = await lab.internet();
  await lab.exec(router, 'ip', ['addr', 'add', `${pub}/32`, 'dev', WAN_IF]);
  await lab.exec(inet, 'ip', ['route', 'add', `${pub}/32`, 'via', router.wanIp]);
  if (router.kind !== 'none') {
    const random = router.kind === 'random' ? ' random' : '';
    await lab.exec(router, 'nft', ['delete', 'table', 'ip', 'lab_nat']);
    await lab.exec(router, 'nft', ['-f', '-'], {
      input: `table ip lab_nat {
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    oifname "${WAN_IF}" snat ip to ${pub}${random}
  }
}
`,
    });
  }
  return pub;
}

const CHAINS = `table inet filter {
  chain forward {
    type filter hook forward priority 0; policy accept;
    jump miniupnpd
  }
  chain miniupnpd {
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting_miniupnpd {
  }
}
`;

export async function startMiniupnpd(lab: Lab, router: Router, options: MiniupnpdOptions = {}): Promise<Miniupnpd> {
  const publicIp = options.keepWan ? router.wanIp : await publicWan(lab, router);
  await lab.exec(router, 'nft', ['-f', '-'], { input: CHAINS });
  const name = `${router.name}-miniupnpd`;
  const leaseFile = lab.path(`${name}.leases`);
  const conf = lab.path(`${name}.conf`);
  writeFileSync(
    conf,
    [
      `ext_ifname=${WAN_IF}`,
      `listening_ip=${router.lanIf ?? 'lan'}`,
      'http_port=5000',
      `enable_natpmp=${options.natpmp === false ? 'no' : 'yes'}`,
      `enable_upnp=${options.upnp === false ? 'no' : 'yes'}`,
      'secure_mode=yes',
      'system_uptime=no',
      `lease_file=${leaseFile}`,
      `min_lifetime=${options.minLifetimeSec ?? 120}`,
      'uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b',
      ...((options.extIp ?? (options.keepWan ? undefined : publicIp)) ? [`ext_ip=${options.extIp ?? publicIp}`] : []),
      `allow 1024-65535 ${router.lanCidr} 1024-65535`,
      'deny 0-65535 0.0.0.0/0 0-65535',
      '',
    ].join('\n'),
  );
  const proc = await lab.spawn(router, 'miniupnpd', ['-f', conf, '-d', '-P', lab.path(`${name}.pid`)]);
  await proc.waitForLog(/Listening for NAT-PMP\/PCP traffic|HTTP listening on port/, 5000);
  if (options.upnp !== false) await proc.waitForLog(/HTTP listening on port/, 5000);
  return {
    proc,
    publicIp,
    rules: async () => (await lab.exec(router, 'nft', ['list', 'table', 'inet', 'filter'])).stdout,
    leases: () =>
      existsSync(leaseFile)
        ? readFileSync(leaseFile, 'utf8')
            .split('\n')
            .filter((l) => l !== '')
        : [],
  };
}
