// NAT tests against one lighthouse with a second port (punchy/nat-discovery.ts), on a simulated path: `nats`
// NAT routers in a row in front of the node, each port-preserving or not, each filtering by address and port or
// only by address. A datagram with IP TTL k crosses the NATs at hops 1..k-1 (a router drops a packet it would have
// to forward with TTL 1), so only the NATs it crossed learn a mapping toward the destination.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ManualClock } from '../../pkg/clock/clock.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { Logger } from '../../pkg/log/logger.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { NatDiscovery, type NatTestResult } from '../../pkg/punchy/nat-discovery.js';
import {
  decodeNatProbe,
  decodeNatTestRequest,
  encodeNatEcho,
  encodeNatTestReply,
  natTestType,
  NatTestType,
  TOKEN_LEN,
} from '../../pkg/punchy/nat-test-wire.js';
import { udpAddr, type UdpAddr } from '../../pkg/udp/addr.js';

const LH_IP = '203.0.113.1';
const MAIN = 4242;
const SECOND = 50000;
const PUBLIC = '198.51.100.7';

interface PathModel {
  nats: number;
  /** Each destination gets its own public port (a "symmetric" NAT) at the outermost NAT. */
  symmetric?: boolean;
  /** The NATs let in packets from any port of an address we sent to. */
  addressFiltering?: boolean;
  /** The lighthouse announces no second port (or is a Nebula one: no whoami reply at all). */
  noSecondPort?: boolean;
  /** Echo datagrams are lost. */
  loseEchoes?: boolean;
  /** Echoes come from this port instead of the second port (someone else guessing at them). */
  echoFromPort?: number;
}

function simulate(model: PathModel): {
  result: () => Promise<NatTestResult | null>;
  log: string[];
  counters: Counters;
} {
  const clock = new ManualClock(0);
  const counters = new Counters();
  const log: string[] = [];
  const lh = { vpnIp: 1, remote: udpAddr(LH_IP, MAIN) } as unknown as HostInfo;
  // How many NATs (from the inside) hold a mapping toward the second port.
  let openTowardSecond = 0;
  const seen = new Map<string, UdpAddr>();
  const seenMain = udpAddr(PUBLIC, MAIN);
  let seq = 0;
  const later = (fn: () => void): void => void clock.after(1, fn);
  const d: NatDiscovery = new NatDiscovery({
    clock,
    log: new Logger('error', 'text', () => undefined),
    counters,
    myIp: () => 7,
    randomToken: () => {
      const t = new Uint8Array(TOKEN_LEN);
      t[0] = ++seq;
      return t;
    },
    sendWhoami: (host) => {
      log.push('whoami');
      if (model.noSecondPort) return later(() => d.onWhoamiReply(host, undefined, seenMain));
      later(() => d.onWhoamiReply(host, SECOND, seenMain));
    },
    sendBare: (packet, to, ttl) => {
      assert.equal(to.port, SECOND);
      const token = decodeNatProbe(packet);
      assert.ok(token, 'only NatProbes go out bare');
      log.push(`probe ttl=${ttl ?? 'full'}`);
      const crossed = Math.min(model.nats, (ttl ?? 64) - 1);
      openTowardSecond = Math.max(openTowardSecond, crossed);
      if ((ttl ?? 64) - 1 > model.nats) {
        const addr = model.symmetric ? udpAddr(PUBLIC, 61000 + seq) : seenMain;
        seen.set(Buffer.from(token).toString('hex'), addr);
      }
    },
    sendInTunnel: (host, payload) => {
      assert.equal(natTestType(payload), NatTestType.Request);
      const req = decodeNatTestRequest(payload);
      log.push(req.echoToken ? 'echo request' : 'mapping request');
      later(() => {
        if (req.echoToken) {
          // The echo leaves the second port for the main mapping's public address.
          const through = model.addressFiltering || (!model.symmetric && openTowardSecond >= model.nats);
          if (through && !model.loseEchoes)
            d.onDatagram(Buffer.from(encodeNatEcho(req.echoToken)), udpAddr(LH_IP, model.echoFromPort ?? SECOND));
        }
        const at = req.probeToken ? seen.get(Buffer.from(req.probeToken).toString('hex')) : undefined;
        d.onReply(host, encodeNatTestReply({ vpnIp: 7, probeToken: req.probeToken, seenAt: at, probePort: SECOND }));
      });
    },
  });
  return {
    log,
    counters,
    result: async () => {
      d.start(lh);
      // Bounded: every step of a run ends on its own timer; 20 simulated seconds is far more than a run takes.
      for (let i = 0; i < 2000 && d.busy; i++) {
        clock.advance(10);
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(d.busy, false, 'the run ended');
      return d.last;
    },
  };
}

describe('NAT tests against one lighthouse with a second port', () => {
  for (const nats of [1, 2, 3]) {
    it(`learns punch TTL ${nats + 1} behind ${nats} port-preserving NAT(s), and endpoint-independent mapping`, async () => {
      const r = await simulate({ nats }).result();
      assert.ok(r);
      assert.equal(r.punchTtl, nats + 1);
      assert.equal(r.mapping, 'endpoint-independent');
      assert.equal(r.filtering, 'address-and-port-dependent');
    });
  }

  it('measures filtering before anything is sent to the second port, then ramps the TTL from 2', async () => {
    const sim = simulate({ nats: 2 });
    await sim.result();
    assert.deepEqual(sim.log.slice(0, 6), [
      'whoami',
      'echo request',
      'probe ttl=2',
      'echo request',
      'probe ttl=3',
      'echo request',
    ]);
    assert.equal(sim.log[6], 'probe ttl=full');
  });

  it('calls a NAT that gives the second port another public port endpoint-dependent, and learns no TTL there', async () => {
    const r = await simulate({ nats: 1, symmetric: true }).result();
    assert.ok(r);
    assert.equal(r.mapping, 'endpoint-dependent');
    assert.equal(r.seenSecond?.port !== MAIN, true);
    assert.equal(r.punchTtl, null);
  });

  it('calls a NAT that lets in a port it never sent to address-dependent, and keeps the default TTL', async () => {
    const sim = simulate({ nats: 2, addressFiltering: true });
    const r = await sim.result();
    assert.ok(r);
    assert.equal(r.filtering, 'address-dependent');
    assert.equal(r.punchTtl, null);
    assert.equal(sim.log.filter((l) => l.startsWith('probe ttl=') && l !== 'probe ttl=full').length, 0);
  });

  it('ramps no further than TTL 6 when no echo ever comes back', async () => {
    const sim = simulate({ nats: 1, loseEchoes: true });
    const r = await sim.result();
    assert.ok(r);
    assert.equal(r.punchTtl, null);
    assert.deepEqual(
      sim.log.filter((l) => l.startsWith('probe ttl=')),
      ['probe ttl=2', 'probe ttl=3', 'probe ttl=4', 'probe ttl=5', 'probe ttl=6', 'probe ttl=full'],
    );
  });

  it('takes no echo from anywhere but the second port, even with the right token', async () => {
    const sim = simulate({ nats: 1, addressFiltering: true, echoFromPort: MAIN });
    const r = await sim.result();
    assert.ok(r);
    assert.equal(r.filtering, 'address-and-port-dependent');
    assert.ok(sim.counters.get('drops', 'nat-echo-unexpected') > 0);
  });

  it('measures nothing when the lighthouse announces no second port', async () => {
    const sim = simulate({ nats: 1, noSecondPort: true });
    assert.equal(await sim.result(), null);
    assert.deepEqual(sim.log, ['whoami']);
  });
});
