// A lighthouse and two nodes, a and b, that know only the lighthouse (static_host_map) and report no interface
// address of the test machine: what a first contact through a lighthouse starts from. All three run on one clock
// (normally a ManualClock); the set-up returns once a and b have a tunnel to the lighthouse and it took an update from
// each, without moving the clock, so a test's first packet starts at a known simulated time.

import type { Clock } from '../../../pkg/clock/clock.js';
import type { LocalNetwork } from '../../../pkg/punchy/punch-needed.js';
import { addrKey, udpAddr, type UdpAddr } from '../../../pkg/udp/addr.js';
import { TestMesh, type TestNode } from './mesh.js';
import { waitFor } from './wait.js';

export const LH_VPN_IP = '10.99.0.10';
export const A_VPN_IP = '10.99.0.1';
export const B_VPN_IP = '10.99.0.2';
export const LH_ADDR = udpAddr('198.51.100.10', 4242);
/** a's underlay address (on the LAN 192.168.7.0/24). */
export const A_ADDR = udpAddr('192.168.7.1', 4242);
/** No interface address of the test machine is reported; each node reports only what its `advertise` names. */
const REPORT_NOTHING = { '0.0.0.0/0': false, '::/0': false };

/** Where one of the two nodes is: its underlay address, the networks its interfaces are on, what it advertises. */
export interface PairNode {
  underlay: UdpAddr;
  localNetworks: LocalNetwork[];
  /** lighthouse.advertise_addrs: addresses it reports besides the one the lighthouse sees it at. */
  advertise?: string[];
}

export interface LighthousePair {
  mesh: TestMesh;
  lh: TestNode;
  a: TestNode;
  b: TestNode;
}

/** a defaults to A_ADDR on its LAN, 192.168.7.1/24. */
export async function lighthousePair(
  t: { after(fn: () => unknown): void },
  clock: Clock,
  b: PairNode,
  a: PairNode = { underlay: A_ADDR, localNetworks: [{ address: '192.168.7.1', prefixLength: 24 }] },
): Promise<LighthousePair> {
  const mesh = new TestMesh(t, { clock });
  const lh = await mesh.node({
    vpnIp: LH_VPN_IP,
    name: 'lighthouse',
    tun: null,
    underlay: LH_ADDR,
    config: { lighthouse: { am_lighthouse: true } },
  });
  const staticHostMap = { [LH_VPN_IP]: [addrKey(LH_ADDR)] };
  const node = (vpnIp: string, name: string, where: PairNode) =>
    mesh.node({
      vpnIp,
      name,
      underlay: where.underlay,
      staticHostMap,
      localNetworks: where.localNetworks,
      config: {
        lighthouse: { hosts: [LH_VPN_IP], local_allow_list: REPORT_NOTHING, advertise_addrs: where.advertise ?? [] },
      },
    });
  const an = await node(A_VPN_IP, 'a', a);
  const bn = await node(B_VPN_IP, 'b', b);
  await waitFor(() => lh.tunnelTo(an) && lh.tunnelTo(bn) && lh.node.counters.get('lighthouse', 'update') >= 2, {
    what: 'a and b at the lighthouse',
  });
  return { mesh, lh, a: an, b: bn };
}
