import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../pkg/clock/clock.js';
import { Firewall, parseFirewallRules, type FirewallSection } from '../../pkg/firewall/firewall.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { ICMP, TCP, UDP, ipv4Packet, peer, type PacketSpec } from './firewall-fixtures.js';

const US = '10.1.0.1';
const THEM = '10.1.0.2';
const them = peer({ ip: THEM, name: 'them', groups: ['web'] });
const MIN = 60_000;

function setup(section: FirewallSection) {
  const clock = new ManualClock(1_000_000);
  const fw = new Firewall(parseFirewallRules(section), { clock, localNets: [{ ip: parseIpv4(US), mask: 0xffffffff }] });
  /** A packet we send to them (outbound) with our port `ours` and theirs `theirs`. */
  const out = (spec: Partial<PacketSpec> = {}) =>
    fw.filter(ipv4Packet({ src: US, dst: THEM, proto: TCP, srcPort: 40000, dstPort: 80, ...spec }), false, them);
  /** The packet they send back on the same flow (ports swapped). */
  const reply = (spec: Partial<PacketSpec> = {}) =>
    fw.filter(ipv4Packet({ src: THEM, dst: US, proto: TCP, srcPort: 80, dstPort: 40000, ...spec }), true, them);
  return { clock, fw, out, reply };
}

const allowOut = { outbound: [{ proto: 'any', port: 'any', host: 'any' }] };

test('replies to our own outbound flow pass inbound although inbound rules deny them', () => {
  const { out, reply } = setup(allowOut);
  assert.equal(reply(), 'no-rule', 'nothing was sent yet');
  assert.equal(out(), null);
  assert.equal(reply(), null);
  assert.equal(reply({ srcPort: 81 }), 'no-rule', 'another port is another flow');
});

test('an inbound flow allowed by a rule lets our replies out although outbound rules deny them', () => {
  const { fw } = setup({ inbound: [{ proto: 'udp', port: 53, host: 'any' }] });
  const query = ipv4Packet({ src: THEM, dst: US, proto: UDP, srcPort: 5353, dstPort: 53 });
  const answer = ipv4Packet({ src: US, dst: THEM, proto: UDP, srcPort: 53, dstPort: 5353 });
  assert.equal(fw.filter(answer, false, them), 'no-rule');
  assert.equal(fw.filter(query, true, them), null);
  assert.equal(fw.filter(answer, false, them), null);
  assert.equal(fw.conntrackSize, 1);
});

test('ICMP between two hosts is one flow whichever side starts it (Nebula quirk)', () => {
  const { fw } = setup(allowOut);
  const theirPing = ipv4Packet({ src: THEM, dst: US, proto: ICMP, icmpType: 8 });
  assert.equal(fw.filter(theirPing, true, them), 'no-rule');
  assert.equal(fw.filter(ipv4Packet({ src: US, dst: THEM, proto: ICMP, icmpType: 8 }), false, them), null);
  assert.equal(fw.filter(theirPing, true, them), null, 'their own echo request rides our flow');
  assert.equal(fw.conntrackSize, 1);
});

test('TCP flows expire after tcp_timeout (12m) of silence', () => {
  const { clock, out, reply } = setup(allowOut);
  out();
  clock.advance(12 * MIN - 1);
  assert.equal(reply(), null);
  clock.advance(12 * MIN - 1);
  assert.equal(reply(), null, 'each packet refreshes the expiry');
  clock.advance(12 * MIN);
  assert.equal(reply(), 'no-rule');
});

test('UDP flows expire after udp_timeout (3m)', () => {
  const { clock, out, reply } = setup(allowOut);
  out({ proto: UDP });
  clock.advance(3 * MIN - 1);
  assert.equal(reply({ proto: UDP }), null);
  clock.advance(3 * MIN);
  assert.equal(reply({ proto: UDP }), 'no-rule');
});

test('ICMP and other protocols expire after default_timeout (10m)', () => {
  const { clock, fw, out } = setup(allowOut);
  const echoReply = ipv4Packet({ src: THEM, dst: US, proto: ICMP, icmpType: 0 });
  out({ proto: ICMP });
  clock.advance(10 * MIN - 1);
  assert.equal(fw.filter(echoReply, true, them), null);
  clock.advance(10 * MIN);
  assert.equal(fw.filter(echoReply, true, them), 'no-rule');

  out({ proto: 47 });
  clock.advance(10 * MIN);
  assert.equal(
    fw.filter(ipv4Packet({ src: THEM, dst: US, proto: 47, srcPort: 80, dstPort: 40000 }), true, them),
    'no-rule',
  );
});

test('configured timeouts replace the defaults', () => {
  const { clock, out, reply } = setup({ ...allowOut, conntrack: { tcp_timeout: 5000, udp_timeout: 2000 } });
  out();
  out({ proto: UDP });
  clock.advance(2000);
  assert.equal(reply({ proto: UDP }), 'no-rule');
  assert.equal(reply(), null);
  clock.advance(5000);
  assert.equal(reply(), 'no-rule');
});

test('sweep forgets expired flows and keeps live ones', () => {
  const { clock, fw, out } = setup(allowOut);
  out({ proto: UDP, srcPort: 1 });
  out({ proto: UDP, srcPort: 2 });
  out({ proto: TCP, srcPort: 3 });
  assert.equal(fw.conntrackSize, 3);
  clock.advance(3 * MIN);
  fw.sweep();
  assert.equal(fw.conntrackSize, 1);
  clock.advance(12 * MIN);
  fw.sweep();
  assert.equal(fw.conntrackSize, 0);
});

test('with max_connections reached a new flow is dropped for conntrack-full and old flows still pass', () => {
  const { fw, out, reply } = setup({ ...allowOut, conntrack: { max_connections: 2 } });
  assert.equal(out({ srcPort: 1 }), null);
  assert.equal(out({ srcPort: 2 }), null);
  assert.equal(out({ srcPort: 3 }), 'conntrack-full');
  assert.equal(fw.dropCounts.get('conntrack-full'), 1);
  assert.equal(reply({ dstPort: 1 }), null);
  assert.equal(out({ srcPort: 2 }), null);
  assert.equal(fw.conntrackSize, 2);
});

test('a full table makes room by reclaiming expired flows', () => {
  const { clock, out } = setup({ ...allowOut, conntrack: { max_connections: 2 } });
  out({ proto: UDP, srcPort: 1 });
  out({ proto: TCP, srcPort: 2 });
  assert.equal(out({ srcPort: 3 }), 'conntrack-full');
  clock.advance(3 * MIN);
  assert.equal(out({ srcPort: 3 }), null, 'the UDP flow expired and its slot was reused');
  assert.equal(out({ srcPort: 4 }), 'conntrack-full');
});

test('replaceRules that no longer allow a flow cut it on its next packet', () => {
  const { fw, out, reply } = setup(allowOut);
  assert.equal(out(), null);
  assert.equal(reply(), null);
  fw.replaceRules(parseFirewallRules({ outbound: [{ proto: 'udp', port: 'any', host: 'any' }] }));
  assert.equal(reply(), 'no-rule', 'the TCP flow was re-checked against the new outbound rules');
  assert.equal(fw.conntrackSize, 0);
  assert.equal(out(), 'no-rule');
});

test('replaceRules that still allow a flow keep it, and it is re-checked only once per rule set', () => {
  const { fw, out, reply } = setup({ outbound: [{ proto: 'tcp', port: 80, host: 'them' }] });
  out();
  fw.replaceRules(parseFirewallRules({ outbound: [{ proto: 'tcp', port: 80, group: 'web' }] }));
  assert.equal(reply(), null, 'them has group web');
  const withoutGroup = peer({ ip: THEM, name: 'them' });
  const next = ipv4Packet({ src: THEM, dst: US, proto: TCP, srcPort: 80, dstPort: 40000 });
  assert.equal(fw.filter(next, true, withoutGroup), null, 'already re-checked under this rule set');
  fw.replaceRules(fw.currentRules);
  assert.equal(fw.filter(next, true, withoutGroup), 'no-rule', 'a new rule set checks again');
});

test('after a reload a cut flow is judged afresh, so the new inbound rules may allow it', () => {
  const { fw, out, reply } = setup(allowOut);
  out();
  fw.replaceRules(parseFirewallRules({ inbound: [{ proto: 'tcp', port: 40000, host: 'any' }] }));
  assert.equal(reply(), null);
  assert.equal(out(), null, 'the new entry was made by the inbound rule');
});

test('replaceRules applies new conntrack timeouts and actions', () => {
  const { clock, fw, out, reply } = setup(allowOut);
  assert.equal(fw.actionFor(true), 'drop');
  fw.replaceRules(parseFirewallRules({ ...allowOut, conntrack: { tcp_timeout: 1000 }, inbound_action: 'reject' }));
  out();
  clock.advance(1000);
  assert.equal(reply(), 'no-rule');
  assert.equal(fw.actionFor(true), 'reject');
  assert.equal(fw.actionFor(false), 'drop');
});

test("a conntrack entry does not let a spoofing peer into another peer's flow", () => {
  const { fw, out } = setup(allowOut);
  out();
  const mallory = peer({ ip: '10.1.0.66', name: 'mallory' });
  const spoofed = ipv4Packet({ src: THEM, dst: US, proto: TCP, srcPort: 80, dstPort: 40000 });
  assert.equal(fw.filter(spoofed, true, mallory), 'remote-not-in-cert');
});

test('a non-first fragment is its own flow, allowed by a fragment or any rule', () => {
  const { fw, out } = setup({ outbound: [{ proto: 'udp', port: 53, host: 'any' }] });
  assert.equal(out({ proto: UDP, dstPort: 53 }), null);
  const fragment = ipv4Packet({ src: US, dst: THEM, proto: UDP, fragOffset: 10 });
  assert.equal(fw.filter(fragment, false, them), 'no-rule');
  fw.replaceRules(
    parseFirewallRules({
      outbound: [
        { proto: 'udp', port: 53, host: 'any' },
        { proto: 'udp', port: 'fragment', host: 'any' },
      ],
    }),
  );
  assert.equal(fw.filter(fragment, false, them), null);
  assert.equal(fw.filter(ipv4Packet({ src: THEM, dst: US, proto: UDP, fragOffset: 10 }), true, them), null);
});
