import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../pkg/clock/clock.js';
import { Firewall, parseFirewallRules, type FirewallPeer, type FirewallSection } from '../../pkg/firewall/firewall.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { TCP, UDP, ipv4Packet, peer } from './firewall-fixtures.js';
import { formatVpnIp } from '../../pkg/ip/vpn-ip.js';

// How the conntrack table is shared: a per-peer quota on the flows a peer opens toward us, eviction of that
// peer's own oldest unanswered flow at its quota, and a quarter of max_connections kept for our own flows.

const US = '10.1.0.1';
const mallory = peer({ ip: '10.1.0.66', name: 'mallory' });
const alice = peer({ ip: '10.1.0.2', name: 'alice' });
const MIN = 60_000;
// Peers may open anything; we may open nothing on our own, so a reply of ours passes only on a live flow.
const openInbound = { inbound: [{ proto: 'any', port: 'any', host: 'any' }] };
const openBoth = { ...openInbound, outbound: [{ proto: 'any', port: 'any', host: 'any' }] };

function setup(section: FirewallSection) {
  const clock = new ManualClock(1_000_000);
  const fw = new Firewall(parseFirewallRules(section), { clock, localNets: [{ ip: parseIpv4(US), mask: 0xffffffff }] });
  const ipOf = (from: FirewallPeer) => formatVpnIp(from.vpnIp);
  /** A one-datagram UDP flow `from` opens to our port 53 from its port `port`. */
  const open = (from: FirewallPeer, port: number, proto = UDP) =>
    fw.filter(ipv4Packet({ src: ipOf(from), dst: US, proto, srcPort: port, dstPort: 53 }), true, from);
  /** Our answer on that flow. */
  const answer = (to: FirewallPeer, port: number, proto = UDP) =>
    fw.filter(ipv4Packet({ src: US, dst: ipOf(to), proto, srcPort: 53, dstPort: port }), false, to);
  /** A flow we open to `to`'s port 443 from our port `port`. */
  const connect = (to: FirewallPeer, port: number) =>
    fw.filter(ipv4Packet({ src: US, dst: ipOf(to), proto: TCP, srcPort: port, dstPort: 443 }), false, to);
  return { clock, fw, open, answer, connect };
}

test('a peer opening more flows than its quota cannot stop another peer or our own flows', () => {
  const { fw, open, answer, connect } = setup({
    ...openBoth,
    conntrack: { max_connections: 1000, max_connections_per_host: 100 },
  });
  for (let port = 1; port <= 20_000; port++)
    assert.equal(open(mallory, port), null, 'an unanswered flow makes way for the next');
  assert.equal(fw.conntrackSize, 100, 'mallory holds its quota and no more');
  assert.equal(fw.evictedFlows, 20_000 - 100);
  for (let port = 1; port <= 100; port++) assert.equal(open(alice, port), null, `alice's flow ${port}`);
  for (let port = 1; port <= 100; port++) assert.equal(answer(alice, port), null, `our answer to alice's flow ${port}`);
  for (let port = 1; port <= 200; port++) assert.equal(connect(alice, 40_000 + port), null, `our own flow ${port}`);
  assert.equal(fw.conntrackSize, 400);
  assert.equal(fw.dropCounts.get('conntrack-full'), 0);
  assert.equal(fw.dropCounts.get('conntrack-host-quota'), 0);
});

test("at its quota the peer's oldest unanswered flow is evicted: not an answered one, not another peer's", () => {
  const { fw, open, answer } = setup({
    ...openInbound,
    conntrack: { max_connections: 100, max_connections_per_host: 3 },
  });
  assert.equal(open(alice, 9), null, "alice's flow is the oldest of all");
  assert.equal(open(mallory, 1), null);
  assert.equal(open(mallory, 2), null);
  assert.equal(open(mallory, 3), null);
  assert.equal(answer(mallory, 1), null, 'we answer its oldest flow');
  assert.equal(open(mallory, 4), null, 'at quota: flow 2 makes way');
  assert.equal(fw.conntrackSize, 4);
  assert.equal(answer(mallory, 2), 'no-rule', 'flow 2 was evicted');
  for (const port of [1, 3, 4]) assert.equal(answer(mallory, port), null, `flow ${port} is still known`);
  assert.equal(answer(alice, 9), null, "alice's older flow is untouched");
});

test('a peer at its quota with every flow answered gets its new flows refused, and others still get theirs', () => {
  const { clock, fw, open, answer } = setup({
    ...openInbound,
    conntrack: { max_connections: 100, max_connections_per_host: 2 },
  });
  for (const port of [1, 2]) {
    open(mallory, port);
    answer(mallory, port);
  }
  assert.equal(open(mallory, 3), 'conntrack-host-quota');
  assert.equal(fw.dropCounts.get('conntrack-host-quota'), 1);
  assert.equal(open(mallory, 1), null, 'its established flows carry on');
  assert.equal(open(alice, 1), null);
  clock.advance(3 * MIN);
  assert.equal(open(mallory, 3), null, 'expired flows are reclaimed before refusing');
});

test('flows peers open fill at most three quarters of max_connections; the rest stays ours', () => {
  const peers = Array.from({ length: 8 }, (_, i) => peer({ ip: `10.1.0.${10 + i}`, name: `p${i}` }));
  const { fw, open, answer, connect } = setup({
    ...openBoth,
    conntrack: { max_connections: 8, max_connections_per_host: 8 },
  });
  for (let i = 0; i < 6; i++) {
    assert.equal(open(peers[i], 1), null);
    assert.equal(answer(peers[i], 1), null);
  }
  assert.equal(open(peers[6], 1), 'conntrack-full', 'the peers share is full and p6 has no flow to give up');
  assert.equal(connect(peers[0], 1), null);
  assert.equal(connect(peers[0], 2), null);
  assert.equal(connect(peers[0], 3), 'conntrack-full', 'the table itself is full now');
  assert.equal(fw.conntrackSize, 8);
});

test('when the peers share is full, a peer makes room only from its own unanswered flows', () => {
  const { fw, open, answer } = setup({
    ...openInbound,
    conntrack: { max_connections: 4, max_connections_per_host: 4 },
  });
  assert.equal(open(alice, 1), null);
  assert.equal(open(mallory, 1), null);
  assert.equal(open(mallory, 2), null);
  assert.equal(open(mallory, 3), null, 'the share (3 of 4) is full: mallory gave up its flow 1');
  assert.equal(open(alice, 2), null, 'alice gives up her own unanswered flow 1');
  assert.equal(fw.conntrackSize, 3);
  assert.deepEqual([answer(alice, 1), answer(mallory, 1)], ['no-rule', 'no-rule'], 'both gave up their oldest');
  assert.deepEqual([answer(alice, 2), answer(mallory, 2), answer(mallory, 3)], [null, null, null]);
});

test('an answered flow is no longer a candidate for eviction, whichever side answered (ICMP is one flow)', () => {
  const { fw, answer } = setup({ ...openBoth, conntrack: { max_connections: 100, max_connections_per_host: 1 } });
  const ping = (type: number) =>
    fw.filter(ipv4Packet({ src: '10.1.0.66', dst: US, proto: 1, icmpType: type }), true, mallory);
  const pong = () => fw.filter(ipv4Packet({ src: US, dst: '10.1.0.66', proto: 1, icmpType: 0 }), false, mallory);
  assert.equal(ping(8), null);
  assert.equal(pong(), null);
  assert.equal(
    fw.filter(ipv4Packet({ src: '10.1.0.66', dst: US, proto: UDP, srcPort: 5, dstPort: 53 }), true, mallory),
    'conntrack-host-quota',
  );
  assert.equal(answer(mallory, 5), null, 'our own flows do not count toward its quota');
});

test('after a reload lowers the quota, the next new flow of a peer above it evicts down to the quota', () => {
  const { fw, open } = setup({ ...openInbound, conntrack: { max_connections: 100, max_connections_per_host: 10 } });
  for (let port = 1; port <= 10; port++) open(mallory, port);
  fw.replaceRules(
    parseFirewallRules({ ...openInbound, conntrack: { max_connections: 100, max_connections_per_host: 3 } }),
  );
  assert.equal(open(mallory, 11), null);
  assert.equal(fw.conntrackSize, 3);
  assert.equal(fw.evictedFlows, 8);
});
