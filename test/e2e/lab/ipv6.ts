import type { Host, Lab, Router } from './lab.js';

// A global IPv6 underlay on top of the lab's IPv4 one, for dual-stack cases. The routers' nftables rules are
// `table ip` only, so IPv6 passes them neither translated nor filtered: each host behind a NAT router gets an
// unfiltered, routable IPv6 address next to its NATed IPv4 one, as on many home and mobile networks.
//
//   router k's WAN link   2001:db8:ff:<k>::1 (internet) / ::2 (router)      (2001:db8::/32: documentation prefix)
//   LAN behind router k   2001:db8:<k>::/64, router ::1, hosts ::2, ::3, …  (<k> counts the routers given, from 1)

export interface Ipv6Site {
  router: Router;
  hosts: Host[];
}

/** Turns IPv6 on in the internet, the given routers and hosts; returns each host's global IPv6 address. */
export async function addIpv6Underlay(lab: Lab, sites: Ipv6Site[]): Promise<Map<string, string>> {
  const inet = await lab.internet();
  const addresses = new Map<string, string>();
  await enable(lab, inet, true);
  const inetLinks = (await lab.exec(inet, 'ip', ['-o', '-4', 'addr', 'show'])).stdout;
  for (const [i, { router, hosts }] of sites.entries()) {
    const k = i + 1;
    const near = router.wanIp.replace(/\d+$/, (last) => String(Number(last) - 1));
    const inetIf = new RegExp(`^\\d+: (\\S+)\\s+inet ${near.replace(/\./g, '\\.')}/`, 'm').exec(inetLinks)?.[1];
    if (inetIf === undefined) throw new Error(`no internet-side link for ${router.name} (${near})`);
    await enable(lab, router, true);
    const lanIf = router.lanIf ?? 'lan';
    await lab.exec(router, 'ip', ['link', 'set', 'dev', lanIf, 'type', 'bridge', 'mcast_snooping', '0']);
    await lab.exec(inet, 'ip', ['-6', 'addr', 'add', `2001:db8:ff:${k}::1/64`, 'dev', inetIf, 'nodad']);
    await lab.exec(router, 'ip', ['-6', 'addr', 'add', `2001:db8:ff:${k}::2/64`, 'dev', 'wan', 'nodad']);
    await lab.exec(router, 'ip', ['-6', 'addr', 'add', `2001:db8:${k}::1/64`, 'dev', lanIf, 'nodad']);
    await lab.exec(router, 'ip', ['-6', 'route', 'add', 'default', 'via', `2001:db8:ff:${k}::1`]);
    await lab.exec(inet, 'ip', ['-6', 'route', 'add', `2001:db8:${k}::/64`, 'via', `2001:db8:ff:${k}::2`]);
    for (const [j, host] of hosts.entries()) {
      const ip = `2001:db8:${k}::${j + 2}`;
      await enable(lab, host, false);
      await lab.exec(host, 'ip', ['-6', 'addr', 'add', `${ip}/64`, 'dev', 'eth0', 'nodad']);
      await lab.exec(host, 'ip', ['-6', 'route', 'add', 'default', 'via', `2001:db8:${k}::1`]);
      addresses.set(host.name, ip);
    }
  }
  return addresses;
}

async function enable(lab: Lab, host: Host, forward: boolean): Promise<void> {
  const values = [
    'net.ipv6.conf.all.disable_ipv6=0',
    'net.ipv6.conf.default.disable_ipv6=0',
    'net.ipv6.conf.all.accept_dad=0',
  ];
  if (forward) values.push('net.ipv6.conf.all.forwarding=1');
  await lab.exec(host, 'sysctl', ['-q', '-w', ...values]);
}
