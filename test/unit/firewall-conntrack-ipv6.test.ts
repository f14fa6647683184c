// Conntrack for IPv6 (docs/ipv6.md): the family-6 table against a Map model, per-owner lists with owners of
// both kinds (IPv4 numbers, IPv6 strings), bounded owner ids, and the per-peer quota with IPv6 owners.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../pkg/clock/clock.js';
import { ConntrackTable } from '../../pkg/firewall/conntrack-table.js';
import { FLOW_HASH6_KEY_BYTES } from '../../pkg/firewall/flow-hash.js';
import { Firewall, parseFirewallRules, type FirewallPeer, type FirewallSection } from '../../pkg/firewall/firewall.js';
import { newFirewallPacket, type FirewallPacket } from '../../pkg/firewall/packet.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import { formatVpnIp, type VpnIp } from '../../pkg/ip/vpn-ip.js';
import { TCP, UDP, ipv4Packet, ipv6Packet, peer, seededRandom } from './firewall-fixtures.js';
import { runAgainstMap } from './helpers/conntrack-model.js';

/** Address words that differ in one word only, each word in turn, so no word may be ignored. */
const WORDS: [number, number, number, number][] = [
  [0xfd000000, 0, 0, 1],
  [0xfd000001, 0, 0, 1],
  [0xfd000000, 1, 0, 1],
  [0xfd000000, 0, 1, 1],
  [0xfd000000, 0, 0, 2],
  [0x20010db8, 0xffffffff, 0x80000000, 0xfffffffe],
];

function keyOf(p: FirewallPacket): string {
  return `${[...p.local6!]}|${[...p.remote6!]}|${p.localPort}|${p.remotePort}|${p.protocol}|${p.fragment}`;
}

function modelRun(hashKey: Uint8Array | undefined, steps: number) {
  const random = seededRandom(61);
  const p = newFirewallPacket();
  p.ipv6 = true;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const table = new ConntrackTable(hashKey, 6);
  const { hits } = runAgainstMap({
    table,
    packet: p,
    random,
    steps,
    nextFlow: () => {
      p.local6!.set(pick(WORDS));
      p.remote6!.set(pick(WORDS));
      p.localPort = Math.floor(random() * 8);
      p.remotePort = 80 + Math.floor(random() * 3);
      p.protocol = pick([6, 17, 58]);
      p.fragment = random() < 0.1;
      return keyOf(p);
    },
    owner: () => 'fd00::9',
    rulesVersion: 5,
  });
  assert.ok(hits > steps / 10 && table.size > 100, `hits ${hits}, size ${table.size}`);
}

test('the IPv6 conntrack table agrees with a Map through random inserts, removals, refreshes and sweeps', () => {
  modelRun(undefined, 100_000);
});

test('with every flow in one probe run (an all-zero hash key) lookups still tell apart keys that differ in any one word', () => {
  modelRun(new Uint8Array(FLOW_HASH6_KEY_BYTES), 20_000);
});

test('per-owner counts and oldest-unanswered lists hold for IPv6 and IPv4 owners in an IPv6 table', () => {
  const random = seededRandom(67);
  const table = new ConntrackTable(undefined, 6);
  const owners: VpnIp[] = ['fd00::2', 'fd00::3', 0x0a000102, 'fd00:0:0:1::2'];
  interface Flow {
    key: string;
    owner: VpnIp;
    incoming: boolean;
    answered: boolean;
    seq: number;
    local: number;
    port: number;
  }
  const model = new Map<string, Flow>();
  const p = newFirewallPacket();
  p.ipv6 = true;
  p.protocol = UDP;
  const place = (local: number, owner: VpnIp, port: number) => {
    p.local6!.set(WORDS[local]);
    p.remote6!.set([0xfd000000, 0, 0, owners.indexOf(owner) + 2]);
    p.localPort = port;
    p.remotePort = 53;
  };
  let seq = 0;
  const check = (step: number) => {
    for (const owner of owners) {
      const mine = [...model.values()].filter((f) => f.owner === owner && f.incoming);
      assert.equal(table.inboundFlowsOf(owner), mine.length, `step ${step}: count of ${formatVpnIp(owner)}`);
      const oldest = mine.filter((f) => !f.answered).sort((a, b) => a.seq - b.seq)[0];
      const slot = table.oldestUnansweredOf(owner);
      assert.equal(slot >= 0, oldest !== undefined, `step ${step}: ${formatVpnIp(owner)} has unanswered flows`);
      if (oldest) {
        place(oldest.local, owner, oldest.port);
        assert.equal(table.find(p), slot, `step ${step}: oldest unanswered of ${formatVpnIp(owner)}`);
      }
    }
    assert.ok(table.ownerIdsAllocated <= owners.length, 'one id per owner at most');
  };
  for (let step = 0; step < 20_000; step++) {
    const owner = owners[Math.floor(random() * owners.length)];
    const local = Math.floor(random() * WORDS.length);
    const port = Math.floor(random() * 30);
    place(local, owner, port);
    const key = keyOf(p);
    const slot = table.find(p);
    const flow = model.get(key);
    assert.equal(slot >= 0, flow !== undefined, `step ${step}`);
    const action = random();
    if (slot < 0) {
      const incoming = random() < 0.7;
      table.insert(p, Infinity, incoming, 0, owner);
      model.set(key, { key, owner, incoming, answered: false, seq: seq++, local, port });
    } else if (action < 0.3) {
      table.removeAt(slot);
      model.delete(key);
    } else if (action < 0.6) {
      table.markAnswered(slot);
      flow!.answered = true;
    }
    if (step % 97 === 0) check(step);
  }
  check(-1);
});

test('owner ids are handed back with the last flow: thousands of owners coming and going use only as many ids as were present at once', () => {
  const table = new ConntrackTable(undefined, 6);
  const p = newFirewallPacket();
  p.ipv6 = true;
  p.protocol = TCP;
  p.local6!.set(WORDS[0]);
  const live: number[] = [];
  for (let i = 0; i < 5000; i++) {
    p.remote6!.set([0xfd000000, 0, 1, i]);
    table.insert(p, Infinity, true, 0, `fd00::1:0:${i.toString(16)}`);
    live.push(table.find(p));
    if (live.length > 10) {
      // Remove the oldest owner's only flow (its slot may have moved: look it up again).
      p.remote6!.set([0xfd000000, 0, 1, i - 10]);
      table.removeAt(table.find(p));
      live.shift();
    }
  }
  assert.equal(table.ownerCount, 10);
  assert.ok(table.ownerIdsAllocated <= 11, `${table.ownerIdsAllocated} ids for at most 11 owners at once`);
});

// The per-peer bounds of firewall-conntrack-fairness.test.ts with IPv6 owners and packets.
const US6 = 'fd00::1';
const mallory = peer({ ip: 'fd00::66', name: 'mallory' });
const alice = peer({ ip: 'fd00::2', ips: ['10.1.0.2'], name: 'alice' });
const openInbound = { inbound: [{ proto: 'any', port: 'any', host: 'any' }] };
const openBoth = { ...openInbound, outbound: [{ proto: 'any', port: 'any', host: 'any' }] };

function setup(section: FirewallSection) {
  const fw = new Firewall(parseFirewallRules(section), {
    clock: new ManualClock(1_000_000),
    vpnNetworks: ['10.1.0.1/16', 'fd00::1/64'].map(parseIpPrefix),
  });
  const src = (who: FirewallPeer) => formatVpnIp(who.vpnIp);
  const open = (from: FirewallPeer, port: number) =>
    fw.filter(ipv6Packet({ src: src(from), dst: US6, proto: UDP, srcPort: port, dstPort: 53 }), true, from);
  const answer = (to: FirewallPeer, port: number) =>
    fw.filter(ipv6Packet({ src: US6, dst: src(to), proto: UDP, srcPort: 53, dstPort: port }), false, to);
  const open4 = (from: FirewallPeer, port: number) =>
    fw.filter(ipv4Packet({ src: '10.1.0.2', dst: '10.1.0.1', proto: UDP, srcPort: port, dstPort: 53 }), true, from);
  const answer4 = (to: FirewallPeer, port: number) =>
    fw.filter(ipv4Packet({ src: '10.1.0.1', dst: '10.1.0.2', proto: UDP, srcPort: 53, dstPort: port }), false, to);
  return { fw, open, answer, open4, answer4 };
}

test('an IPv6 peer opening more flows than its quota holds its quota and cannot stop another peer', () => {
  const { fw, open, answer } = setup({
    ...openBoth,
    conntrack: { max_connections: 1000, max_connections_per_host: 100 },
  });
  for (let port = 1; port <= 5000; port++)
    assert.equal(open(mallory, port), null, 'an unanswered flow makes way for the next');
  assert.equal(fw.conntrackSize, 100, 'mallory holds its quota and no more');
  assert.equal(fw.evictedFlows, 5000 - 100);
  for (let port = 1; port <= 100; port++) assert.equal(open(alice, port), null, `alice's flow ${port}`);
  for (let port = 1; port <= 100; port++) assert.equal(answer(alice, port), null, `our answer to alice's flow ${port}`);
  assert.equal(fw.conntrackSize, 200);
  assert.equal(fw.dropCounts.get('conntrack-host-quota'), 0);
});

test("a dual-stack peer's quota counts its flows of both families; at quota its oldest unanswered flow makes way, its own family first", () => {
  const { fw, open, answer, open4, answer4 } = setup({
    ...openInbound,
    conntrack: { max_connections: 100, max_connections_per_host: 4 },
  });
  assert.equal(open4(alice, 1), null);
  assert.equal(open4(alice, 2), null);
  assert.equal(open(alice, 3), null);
  assert.equal(open(alice, 4), null);
  assert.equal(answer(alice, 3), null, 'we answer IPv6 flow 3');
  assert.equal(
    open(alice, 5),
    null,
    'at quota: IPv6 flow 4 (same family, unanswered) makes way, not the older IPv4 ones',
  );
  assert.equal(answer(alice, 4), 'no-rule', 'flow 4 was evicted');
  assert.equal(answer4(alice, 1), null, 'IPv4 flow 1 is still known (and now answered)');
  assert.equal(answer(alice, 5), null);
  assert.equal(open(alice, 6), null, 'no IPv6 flow left unanswered: the oldest unanswered IPv4 one (2) makes way');
  assert.equal(answer4(alice, 2), 'no-rule', 'flow 2 was evicted');
  assert.equal(answer(alice, 6), null);
  assert.equal(open(alice, 7), 'conntrack-host-quota', 'all four answered: the new flow is refused');
  assert.equal(fw.conntrackSize, 4);
});
