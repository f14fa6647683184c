// Fuzzing the NATS side of a lighthouse tier where hostile input arrives (docs/lighthouse-tier.md): the punch
// subject a lighthouse listens on and the bucket it watches, through a real nats-server. Random and mutated
// messages on both; the store never throws, never delivers a punch request the decoder refused, counts what it
// drops, and afterwards a valid record and a valid punch request still get through.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { systemClock } from '../../pkg/clock/clock.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { formatVpnIp } from '../../pkg/ip/vpn-ip.js';
import { Logger } from '../../pkg/log/logger.js';
import { NatsStore, punchSubject } from '../../pkg/lighthouse/store/nats-store.js';
import { encodePunch, encodeRecord, keyOf } from '../../pkg/lighthouse/store/record.js';
import type { PunchRequest } from '../../pkg/lighthouse/store/store.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { udpAddr } from '../../pkg/udp/addr.js';
import { mutate, mutateText, randomBytes, runFuzzAsync } from './helpers/fuzz.js';
import { NATS_PASSWORD, NATS_USER, NatsServer } from './helpers/nats-server.js';
import { waitFor } from './helpers/wait.js';

const HOST = {
  vpnIp: parseIpv4('10.9.0.5'),
  learned: udpAddr('198.51.100.5', 4242),
  reported: [udpAddr('2001:db8::5', 4242)],
  relays: [parseIpv4('10.9.0.9')],
  name: 'five',
};
const PUNCH: PunchRequest = {
  target: parseIpv4('10.9.0.5'),
  asker: parseIpv4('10.9.0.7'),
  askerAddrs: [udpAddr('203.0.113.7', 4242)],
};

test('fuzz: hostile punch requests and bucket values through nats-server never break the store', async (t) => {
  const nats = await NatsServer.start(t);
  const counters = new Counters();
  const punches: PunchRequest[] = [];
  const store = new NatsStore({
    config: {
      kind: 'nats',
      servers: [nats.url],
      user: NATS_USER,
      password: NATS_PASSWORD,
      bucket: 'mesh_fuzz',
      ttlMs: 30_000,
    },
    id: 'lh-1',
    clock: systemClock,
    log: new Logger('error', 'text', () => {}),
    counters,
  });
  store.attach({ served: () => [], punchRequested: (r) => punches.push(r) });
  t.after(() => store.close());
  await waitFor(() => store.online, { timeoutMs: 5000, what: 'the store online' });

  const { connect, jetstream, Kvm } = await import('../../pkg/lighthouse/store/nats-client.js');
  const nc = await connect({ servers: nats.url, user: NATS_USER, pass: NATS_PASSWORD });
  t.after(() => nc.close());
  const kv = await new Kvm(jetstream(nc)).open('mesh_fuzz');
  const record = encodeRecord(HOST, 'lh-9', Date.now());
  const punch = encodePunch(PUNCH);
  const keys = ['10.9.0.5', '10.9.0.6', 'fd00__5', 'x', '10.9.0.5.a'];

  let published = 0;
  const stats = await runFuzzAsync(
    'lighthouse-store-nats',
    { iterations: 400, minIterations: 40, ms: 2000, seed: 2121 },
    async (r) => {
      const text = (b: Uint8Array) => Buffer.from(mutateText(r, Buffer.from(b).toString(), 4, 6000));
      if (r.chance(0.5)) {
        const body = r.chance(0.2)
          ? randomBytes(r, 5000)
          : r.chance(0.5)
            ? mutate(r, punch, [punch, record], 4, 5000)
            : text(punch);
        nc.publish(punchSubject('lh-1'), body);
        published++;
      } else {
        const body = r.chance(0.2)
          ? randomBytes(r, 3000)
          : r.chance(0.5)
            ? mutate(r, record, [record, punch], 4, 3000)
            : text(record);
        await kv.put(r.pick(keys), body).catch(() => {}); // the server refuses values over the bucket's size limit
      }
    },
  );
  await nc.flush();
  // Whatever was delivered passed the decoder: its fields are addresses.
  for (const p of punches)
    assert.ok(typeof formatVpnIp(p.target) === 'string' && p.askerAddrs.every((a) => a.port >= 0 && a.port <= 65535));
  assert.ok(counters.get('drops', 'lighthouse-tier-invalid') > 0, 'hostile input was refused and counted');

  // Still working: a valid record is served and a valid punch request delivered.
  await kv.put(
    keyOf(parseIpv4('10.9.0.77')),
    encodeRecord({ ...HOST, vpnIp: parseIpv4('10.9.0.77') }, 'lh-9', Date.now()),
  );
  await waitFor(() => store.lookup(parseIpv4('10.9.0.77')), { what: 'the valid record after the fuzzing' });
  const before = punches.length;
  nc.publish(punchSubject('lh-1'), punch);
  await waitFor(() => punches.length > before, { what: 'the valid punch request after the fuzzing' });
  t.diagnostic(
    `${stats.iterations} iterations, ${published} punch messages, ${counters.get('drops', 'lighthouse-tier-invalid')} refused`,
  );
});
