// lighthouse.calculated_remotes (Nebula 1.7+): `{ "<vpn cidr>": [{mask: "<cidr>", port: N}, ...] }`. For a peer
// inside the VPN CIDR, each entry gives a remote made of the mask's network bits and the peer's host bits
// (applied by pkg/lighthouse/calculated-remotes.ts). The VPN CIDR is IPv4 or IPv6 (an IPv6 overlay, v2
// certificates); its masks must be of the same family, as Nebula 1.11 requires (docs/ipv6.md).

import { checkCidr } from './addresses.js';
import { ConfigErrorCode } from './errors.js';
import type { CalculatedRemotes } from './mesh-config.js';
import { isMap } from './reader.js';
import type { ConfigReader } from './reader.js';
import { checkInt, readMap } from './typed-values.js';

export function readCalculatedRemotes(r: ConfigReader): CalculatedRemotes[] {
  const path = ['lighthouse', 'calculated_remotes'];
  const raw = readMap(r, path);
  if (raw === undefined) return [];
  r.keepRaw(path); // every entry is checked below
  return Object.entries(raw).map(([vpnRange, list]) => {
    const at = [...path, vpnRange];
    const family = checkCidr(vpnRange);
    if (family !== 4 && family !== 6)
      throw r.error(ConfigErrorCode.value, at, `expected a CIDR, got ${JSON.stringify(vpnRange)}`);
    const familyName = family === 4 ? 'IPv4' : 'IPv6';
    if (!Array.isArray(list)) throw r.typeError(at, 'a list of {mask, port}', list);
    const remotes = list.map((item, i) => {
      if (!isMap(item)) throw r.typeError([...at, i], 'a map with mask and port', item);
      const mask = item.mask;
      // Nebula refuses a mask of the other family than its VPN CIDR.
      if (typeof mask !== 'string' || checkCidr(mask) !== family) {
        throw r.error(
          ConfigErrorCode.value,
          [...at, i, 'mask'],
          `expected an ${familyName} CIDR (the family of ${vpnRange}), got ${JSON.stringify(mask)}`,
        );
      }
      if (item.port === undefined || item.port === null)
        throw r.error(ConfigErrorCode.missing, [...at, i, 'port'], 'required');
      return { mask, port: checkInt(r, [...at, i, 'port'], item.port, 0, 65535) };
    });
    return { vpnRange, remotes };
  });
}
