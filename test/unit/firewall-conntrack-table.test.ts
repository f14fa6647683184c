import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConntrackTable } from '../../pkg/firewall/conntrack-table.js';
import { FLOW_HASH_KEY_BYTES, FlowHash } from '../../pkg/firewall/flow-hash.js';
import { newFirewallPacket, type FirewallPacket } from '../../pkg/firewall/packet.js';
import { seededRandom } from './firewall-fixtures.js';
import { runAgainstMap } from './helpers/conntrack-model.js';
import { flowsCollidingUnderUnkeyedHash, unkeyedFlowHash } from './helpers/unkeyed-flow-hash.js';

function keyOf(p: FirewallPacket): string {
  return `${p.localIp}|${p.remoteIp}|${p.localPort}|${p.remotePort}|${p.protocol}|${p.fragment}`;
}

test('the conntrack table agrees with a Map through random inserts, removals and sweeps', () => {
  const random = seededRandom(7);
  const p = newFirewallPacket();
  runAgainstMap({
    table: new ConntrackTable(),
    packet: p,
    random,
    steps: 200_000,
    nextFlow: () => {
      p.localIp = 0x0a000001 + Math.floor(random() * 3);
      p.remoteIp = 0x0a000100 + Math.floor(random() * 40);
      p.localPort = Math.floor(random() * 20);
      p.remotePort = 80 + Math.floor(random() * 3);
      p.protocol = [1, 6, 17][Math.floor(random() * 3)];
      p.fragment = random() < 0.1;
      return keyOf(p);
    },
    owner: () => p.remoteIp,
    rulesVersion: 3,
  });
});

test('the table grows past its initial capacity and shrinks back after a sweep', () => {
  const table = new ConntrackTable();
  const initialSlots = table.slots;
  const p = newFirewallPacket();
  for (let i = 0; i < 10_000; i++) {
    p.remoteIp = i;
    table.insert(p, 100, false, 0, 0);
  }
  assert.equal(table.size, 10_000);
  assert.ok(table.slots >= 20_000, `grown to at least twice its entries, got ${table.slots} slots`);
  for (let i = 0; i < 10_000; i += 1000) {
    p.remoteIp = i;
    assert.ok(table.find(p) >= 0);
  }
  table.sweep(100);
  assert.equal(table.size, 0);
  assert.equal(table.slots, initialSlots, 'an emptied table gives its memory back');
  p.remoteIp = 5;
  assert.equal(table.find(p), -1);
  // Still usable at its initial size.
  table.insert(p, 200, false, 0, 0);
  assert.ok(table.find(p) >= 0);
});

test('per-owner inbound counts and oldest-unanswered lists stay right through moves, resizes, answers and sweeps', () => {
  const random = seededRandom(11);
  const table = new ConntrackTable();
  interface Flow {
    key: string;
    owner: number;
    incoming: boolean;
    answered: boolean;
    expires: number;
    seq: number;
  }
  const model = new Map<string, Flow>();
  const p = newFirewallPacket();
  const owners = [0x0a000101, 0x0a000102, 0xc0a80001, 0xfffffffe];
  let seq = 0;
  let now = 0;
  const check = (step: number) => {
    for (const owner of owners) {
      const mine = [...model.values()].filter((f) => f.owner === owner && f.incoming);
      assert.equal(table.inboundFlowsOf(owner), mine.length, `step ${step}: count of ${owner}`);
      const unanswered = mine.filter((f) => !f.answered).sort((a, b) => a.seq - b.seq);
      const slot = table.oldestUnansweredOf(owner);
      assert.equal(slot >= 0, unanswered.length > 0, `step ${step}: ${owner} has unanswered flows`);
      if (slot >= 0) {
        const [oldest] = unanswered;
        const [l, r, lp, rp] = oldest.key.split('|').map(Number);
        Object.assign(p, { localIp: l, remoteIp: r, localPort: lp, remotePort: rp, protocol: 17, fragment: false });
        assert.equal(table.find(p), slot, `step ${step}: oldest unanswered of ${owner}`);
      }
    }
    assert.equal(table.inboundSize, [...model.values()].filter((f) => f.incoming).length);
  };
  for (let step = 0; step < 30_000; step++) {
    const owner = owners[Math.floor(random() * owners.length)];
    p.localIp = 0x0a000001;
    p.remoteIp = owner;
    p.localPort = Math.floor(random() * 40);
    p.remotePort = Math.floor(random() * 40);
    p.protocol = 17;
    p.fragment = false;
    const key = `${p.localIp}|${p.remoteIp}|${p.localPort}|${p.remotePort}`;
    const slot = table.find(p);
    const flow = model.get(key);
    assert.equal(slot >= 0, flow !== undefined, `step ${step}`);
    const action = random();
    if (slot < 0) {
      const incoming = random() < 0.7;
      const expires = now + Math.floor(random() * 2000);
      table.insert(p, expires, incoming, 0, owner);
      model.set(key, { key, owner, incoming, answered: false, expires, seq: seq++ });
    } else if (action < 0.3) {
      table.removeAt(slot);
      model.delete(key);
    } else if (action < 0.6) {
      table.markAnswered(slot);
      flow!.answered = true;
    } else if (action < 0.7) {
      const owned = table.oldestUnansweredOf(flow!.owner);
      if (owned >= 0) {
        table.removeAt(owned);
        const oldest = [...model.values()]
          .filter((f) => f.owner === flow!.owner && f.incoming && !f.answered)
          .sort((a, b) => a.seq - b.seq)[0];
        model.delete(oldest.key);
      }
    }
    if (step % 1009 === 0) {
      now += 700;
      table.sweep(now);
      for (const [k, f] of model) if (f.expires <= now) model.delete(k);
    }
    if (step % 97 === 0) check(step);
  }
  check(-1);
  table.clear();
  for (const owner of owners) assert.equal(table.inboundFlowsOf(owner), 0);
  assert.equal(table.inboundSize, 0);
});

function seededHashKey(seed: number): Uint8Array {
  const random = seededRandom(seed);
  return Uint8Array.from({ length: FLOW_HASH_KEY_BYTES }, () => Math.floor(random() * 256));
}

test('flows a peer chose to share one slot under the old unkeyed hash spread out under the keyed one', () => {
  // One peer, one protocol, ports chosen so that the unkeyed hash's low 12 bits are all 0: in the 8192-slot table
  // that holds them, that hash gave them two home slots and lookups walked runs of ~2000 entries.
  const template = {
    localIp: 0x0a010001,
    remoteIp: 0x0a010002,
    localPort: 0,
    remotePort: 0,
    protocol: 6,
    fragment: false,
  };
  const flows = flowsCollidingUnderUnkeyedHash(template, 4096, 12);
  assert.equal(flows.length, 4096);
  for (const p of flows.slice(0, 50)) {
    assert.equal(
      unkeyedFlowHash(p.localIp, p.remoteIp, ((p.localPort << 16) | p.remotePort) >>> 0, 0x200 | 6) & 0xfff,
      0,
    );
  }
  for (const seed of [1, 2, 3]) {
    const table = new ConntrackTable(seededHashKey(seed));
    for (const p of flows) table.insert(p, Infinity, true, 0, p.remoteIp);
    let longest = 0;
    let total = 0;
    for (const p of flows) {
      const probes = table.probeLength(p);
      longest = Math.max(longest, probes);
      total += probes;
    }
    // Random hashing at this load (1/2) gives ~1.5 probes on average and a longest run in the twenties.
    assert.ok(total / flows.length < 3, `seed ${seed}: mean probe length ${total / flows.length}`);
    assert.ok(longest <= 40, `seed ${seed}: longest probe ${longest}`);
  }
});

test('each flow hash draws its own secret key', () => {
  const a = new FlowHash();
  const b = new FlowHash();
  let differ = 0;
  for (let ports = 0; ports < 64; ports++)
    if (a.of(0x0a010001, 0x0a010002, ports, 0x206) !== b.of(0x0a010001, 0x0a010002, ports, 0x206)) differ++;
  assert.ok(differ >= 60, `${differ} of 64 hashes differ between two keys`);
  assert.throws(() => new FlowHash(new Uint8Array(16)), RangeError);
});
