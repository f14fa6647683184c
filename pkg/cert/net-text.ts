// Networks as text the way Go's net.IPNet.String() writes them, so printed certificates and error messages match
// nebula-cert's: "10.1.2.3/16", or the mask in hex ("10.1.2.3/ff00ff00") when it is not a prefix.

import { formatIpv4, maskToPrefix, type Ipv4Net } from '../ip/ipv4.js';

export function formatNet(net: Ipv4Net): string {
  const prefix = maskToPrefix(net.mask);
  const suffix = prefix >= 0 ? String(prefix) : (net.mask >>> 0).toString(16).padStart(8, '0');
  return `${formatIpv4(net.ip)}/${suffix}`;
}
