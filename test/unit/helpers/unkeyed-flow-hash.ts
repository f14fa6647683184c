// The conntrack table's flow hash as it was before it was keyed: fixed constants, so anyone can compute which
// flows share a home slot. Kept for the test and the bench that show those flows no longer collide.

import type { FirewallPacket } from '../../../pkg/firewall/packet.js';

const USED = 0x200;
const FRAGMENT = 0x100;

export function unkeyedFlowHash(localIp: number, remoteIp: number, ports: number, tag: number): number {
  let h = Math.imul(localIp ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ remoteIp, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ ports, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 16) ^ tag, 0x165667b1);
  return (h ^ (h >>> 15)) >>> 0;
}

/**
 * `count` flows from one peer (fixed addresses and protocol, ports varied) whose unkeyed hash has its low
 * `bits` bits all zero: in a table of 2^bits slots or fewer they all share one home slot. Walks the port space
 * in order, so the cost is about count * 2^bits hash evaluations.
 */
export function flowsCollidingUnderUnkeyedHash(
  template: FirewallPacket,
  count: number,
  bits: number,
): FirewallPacket[] {
  const mask = 2 ** bits - 1;
  const tag = USED | (template.fragment ? FRAGMENT : 0) | template.protocol;
  const out: FirewallPacket[] = [];
  for (let ports = 0; out.length < count && ports <= 0xffffffff; ports++) {
    if ((unkeyedFlowHash(template.localIp, template.remoteIp, ports, tag) & mask) !== 0) continue;
    out.push({ ...template, localPort: ports >>> 16, remotePort: ports & 0xffff });
  }
  return out;
}
