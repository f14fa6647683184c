// Conntrack lookup cost for flows a peer chose so that they collide under the table's old unkeyed hash,
// against as many ordinary flows. Run: `node dist/bench/conntrack-lookup.js [flows]` (default 20000).
//
//   find     ConntrackTable.find for each flow in turn, ns per lookup, and the mean number of slots it reads
//   filter   Firewall.filter on an inbound packet of an established flow (what the data path pays), ns
//
// The chosen flows share the low 16 bits of the unkeyed hash: the table holds 20000 flows in 65536 slots,
// so under that hash they all start probing at one slot. The `ipv6` line runs the same ordinary flows as IPv6
// packets (fd00::1 <- fd00::2) through the IPv6 table and Firewall.filter (docs/ipv6.md).

import { ManualClock } from '../pkg/clock/clock.js';
import { ConntrackTable } from '../pkg/firewall/conntrack-table.js';
import { Firewall, firewallPeerAddresses, parseFirewallRules, type FirewallPeer } from '../pkg/firewall/firewall.js';
import { newFirewallPacket, type FirewallPacket } from '../pkg/firewall/packet.js';
import { parseIpPrefix } from '../pkg/ip/prefix.js';
import { flowsCollidingUnderUnkeyedHash } from '../test/unit/helpers/unkeyed-flow-hash.js';

const count = Number(process.argv[2] ?? 20_000);
const US = 0x0a010001;
const PEER = 0x0a010002;
const TCP = 6;
const template: FirewallPacket = {
  localIp: US,
  remoteIp: PEER,
  localPort: 0,
  remotePort: 0,
  protocol: TCP,
  fragment: false,
};

function ordinaryFlows(n: number): FirewallPacket[] {
  const out: FirewallPacket[] = [];
  for (let i = 0; i < n; i++) out.push({ ...template, localPort: 443, remotePort: 1024 + i });
  return out;
}

/** Runs `round` (one pass over `n` flows) for at least ~0.5 s; ns per flow. */
function nsPerFlow(n: number, round: () => void): number {
  const start = process.hrtime.bigint();
  let rounds = 0;
  let elapsed: bigint;
  do {
    round();
    rounds++;
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < 500_000_000n);
  return Number(elapsed) / (rounds * n);
}

function timeFind(flows: FirewallPacket[]): { ns: number; meanProbes: number } {
  const table = new ConntrackTable();
  for (const p of flows) table.insert(p, Infinity, true, 0, PEER);
  let sink = 0;
  const ns = nsPerFlow(flows.length, () => {
    for (const p of flows) sink += table.find(p);
  });
  if (sink === 0.5) console.log('');
  let probes = 0;
  for (const p of flows) probes += table.probeLength(p);
  return { ns, meanProbes: probes / flows.length };
}

function packetOf(p: FirewallPacket): Uint8Array {
  const b = new Uint8Array(40);
  b[0] = 0x45;
  b[9] = p.protocol;
  new DataView(b.buffer).setUint32(12, p.remoteIp);
  new DataView(b.buffer).setUint32(16, p.localIp);
  new DataView(b.buffer).setUint16(20, p.remotePort);
  new DataView(b.buffer).setUint16(22, p.localPort);
  return b;
}

function timeFilter(flows: FirewallPacket[]): number {
  const conntrack = { max_connections: 1_000_000, max_connections_per_host: 1_000_000 };
  const rules = parseFirewallRules({ inbound: [{ port: 'any', proto: 'any', host: 'any' }], conntrack });
  const fw = new Firewall(rules, { clock: new ManualClock(0), localNets: [{ ip: US, mask: 0xffffffff }] });
  const peer: FirewallPeer = {
    vpnIp: PEER,
    name: 'p',
    groups: new Set(),
    issuer: '',
    caName: '',
    allowedNets: [],
    singleIp: true,
  };
  const packets = flows.map(packetOf);
  for (const b of packets) if (fw.filter(b, true, peer) !== null) throw new Error('flow refused while filling');
  return nsPerFlow(packets.length, () => {
    for (const b of packets) fw.filter(b, true, peer);
  });
}

const US6 = [0xfd000000, 0, 0, 1];
const PEER6 = [0xfd000000, 0, 0, 2];

function flows6(n: number): FirewallPacket[] {
  return ordinaryFlows(n).map((f) => {
    const p = {
      ...newFirewallPacket(),
      localPort: f.localPort,
      remotePort: f.remotePort,
      protocol: f.protocol,
      ipv6: true,
    };
    p.local6!.set(US6);
    p.remote6!.set(PEER6);
    return p;
  });
}

function timeFind6(flows: FirewallPacket[]): { ns: number; meanProbes: number } {
  const table = new ConntrackTable(undefined, 6);
  for (const p of flows) table.insert(p, Infinity, true, 0, 'fd00::2');
  let sink = 0;
  const ns = nsPerFlow(flows.length, () => {
    for (const p of flows) sink += table.find(p);
  });
  if (sink === 0.5) console.log('');
  let probes = 0;
  for (const p of flows) probes += table.probeLength(p);
  return { ns, meanProbes: probes / flows.length };
}

function packetOf6(p: FirewallPacket): Uint8Array {
  const b = new Uint8Array(60);
  const v = new DataView(b.buffer);
  b[0] = 0x60;
  v.setUint16(4, 20);
  b[6] = p.protocol;
  b[7] = 64;
  for (let i = 0; i < 4; i++) {
    v.setUint32(8 + 4 * i, PEER6[i]);
    v.setUint32(24 + 4 * i, US6[i]);
  }
  v.setUint16(40, p.remotePort);
  v.setUint16(42, p.localPort);
  return b;
}

function timeFilter6(flows: FirewallPacket[]): number {
  const conntrack = { max_connections: 1_000_000, max_connections_per_host: 1_000_000 };
  const rules = parseFirewallRules({ inbound: [{ port: 'any', proto: 'any', host: 'any' }], conntrack });
  const fw = new Firewall(rules, { clock: new ManualClock(0), vpnNetworks: [parseIpPrefix('fd00::1/64')] });
  const peer: FirewallPeer = {
    ...firewallPeerAddresses(['fd00::2']),
    name: 'p',
    groups: new Set(),
    issuer: '',
    caName: '',
  };
  const packets = flows.map(packetOf6);
  for (const b of packets) if (fw.filter(b, true, peer) !== null) throw new Error('IPv6 flow refused while filling');
  return nsPerFlow(packets.length, () => {
    for (const b of packets) fw.filter(b, true, peer);
  });
}

const t0 = Date.now();
const chosen = flowsCollidingUnderUnkeyedHash(template, count, 16);
console.log(`${count} flows chosen against the unkeyed hash in ${Date.now() - t0} ms`);
const ordinary = ordinaryFlows(count);
for (const [name, flows] of [
  ['ordinary', ordinary],
  ['chosen', chosen],
] as const) {
  timeFind(flows); // warm-up
  const find = timeFind(flows);
  const filter = timeFilter(flows);
  const probes = `${find.meanProbes.toFixed(1)} slots read`;
  console.log(
    `${name.padEnd(8)} find ${find.ns.toFixed(1).padStart(8)} ns (${probes})   filter ${filter.toFixed(1).padStart(8)} ns`,
  );
}
{
  const v6 = flows6(count);
  timeFind6(v6); // warm-up
  const find = timeFind6(v6);
  const filter = timeFilter6(v6);
  const probes = `${find.meanProbes.toFixed(1)} slots read`;
  console.log(
    `${'ipv6'.padEnd(8)} find ${find.ns.toFixed(1).padStart(8)} ns (${probes})   filter ${filter.toFixed(1).padStart(8)} ns`,
  );
}
