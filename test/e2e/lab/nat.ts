// nftables rulesets for the lab's routers.
//
// RFC 4787 terms for what each kind does to UDP from the LAN:
//   masq    `masquerade`: endpoint-independent mapping (keeps the source port when it is free), address-and-port
//           dependent filtering (conntrack only lets replies in).
//   random  `masquerade random`: address-and-port dependent mapping: a fresh random port for every destination
//           (a "symmetric" NAT).
//   none    plain routing, no translation; the internet routes the LAN prefix to the router.
// Every kind drops unsolicited packets addressed to the router itself on its WAN side (like a home router) rather
// than answering them with ICMP port-unreachable.

export type NatKind = 'masq' | 'random' | 'none';

export const WAN_IF = 'wan';
export const LAN_IF = 'lan';

export function routerRuleset(kind: NatKind): string {
  const translate = kind === 'masq' ? 'masquerade' : kind === 'random' ? 'masquerade random' : '';
  const nat =
    translate === ''
      ? ''
      : `table ip lab_nat {
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    oifname "${WAN_IF}" ${translate}
  }
}
`;
  return `${nat}table ip lab_router {
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "${WAN_IF}" ct state established,related accept
    iifname "${WAN_IF}" icmp type echo-request accept
    iifname "${WAN_IF}" drop
  }
}
`;
}

/** A router's LANs kept apart: nothing forwarded between them, nothing from them to the WAN address (no hairpin). */
export function isolationRuleset(wanIp: string, lans: string[]): string {
  const set = lans.map((l) => `"${l}"`).join(', ');
  const between = lans.flatMap((from) =>
    lans.filter((to) => to !== from).map((to) => `    iifname "${from}" oifname "${to}" drop`),
  );
  return `table ip lab_isolate {
  chain forward {
    type filter hook forward priority 0; policy accept;
${between.join('\n')}
  }
  chain input {
    type filter hook input priority -10; policy accept;
    iifname { ${set} } ip daddr ${wanIp} drop
  }
}
`;
}
