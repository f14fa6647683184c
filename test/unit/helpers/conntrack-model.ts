// The conntrack table checked against a Map model (docs/ipv6.md for the family-6 table): random finds, inserts,
// removals, refreshes and sweeps over a small key space, so hits, misses and long probe runs all happen. Shared by
// the IPv4 and IPv6 table tests, which differ only in the flows they draw and the owner they store.

import assert from 'node:assert/strict';

import type { ConntrackTable } from '../../../pkg/firewall/conntrack-table.js';
import type { FirewallPacket } from '../../../pkg/firewall/packet.js';
import type { VpnIp } from '../../../pkg/ip/vpn-ip.js';

export interface ModelRun {
  table: ConntrackTable;
  /** The packet `nextFlow` fills in, looked up and inserted as is. */
  packet: FirewallPacket;
  random: () => number;
  steps: number;
  /** Sets `packet` to the next flow (drawing from `random`) and returns its key in the model. */
  nextFlow(): string;
  /** The owner an insert records. */
  owner(): VpnIp;
  rulesVersion: number;
}

/** Runs the steps, asserting after each that the table agrees with the model; returns how many finds hit. */
export function runAgainstMap(run: ModelRun): { hits: number } {
  const { table, packet: p, random } = run;
  const model = new Map<string, { expires: number; incoming: boolean }>();
  let now = 0;
  let hits = 0;
  for (let step = 0; step < run.steps; step++) {
    const key = run.nextFlow();
    const slot = table.find(p);
    const expected = model.get(key);
    assert.equal(slot >= 0, expected !== undefined, `step ${step}`);
    const action = random();
    if (slot < 0) {
      if (action < 0.7) {
        const expires = now + Math.floor(random() * 1000);
        const incoming = random() < 0.5;
        table.insert(p, expires, incoming, run.rulesVersion, run.owner());
        model.set(key, { expires, incoming });
      }
    } else {
      hits++;
      assert.equal(table.expiresAt(slot), expected!.expires);
      assert.equal(table.incomingAt(slot), expected!.incoming);
      assert.equal(table.rulesVersionAt(slot), run.rulesVersion);
      if (action < 0.3) {
        table.removeAt(slot);
        model.delete(key);
      } else if (action < 0.6) {
        const expires = now + Math.floor(random() * 1000);
        table.refresh(slot, expires);
        expected!.expires = expires;
      }
    }
    if (step % 997 === 0) {
      now += 300;
      table.sweep(now);
      for (const [k, entry] of model) if (entry.expires <= now) model.delete(k);
    }
    assert.equal(table.size, model.size);
  }
  return { hits };
}
