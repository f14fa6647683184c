// The port-mapping manager on a ManualClock with scripted protocol clients: the order PCP, NAT-PMP, UPnP, renewal
// at half the granted lifetime, bounded retries with backoff, a renewal that keeps failing, refresh and stop.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../pkg/clock/clock.js';
import { Logger } from '../../pkg/log/logger.js';
import { DELETE_WAIT_MS, PortMapper, RENEW_RETRY_MS, RETRY_BACKOFF_MS } from '../../pkg/portmap/manager.js';
import type { MappingClient, MapRequest, PortMapping, PortMapProtocol } from '../../pkg/portmap/types.js';

/** Lets the mapper's awaited promises settle (the fake clients answer at once). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

class FakeClient implements MappingClient {
  maps: MapRequest[] = [];
  unmaps: PortMapping[] = [];
  /** What the next map() does: 'ok', 'fail', or 'hang' (never settles). */
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  unmapHangs = false;
  externalPort = 40000;
  constructor(
    readonly protocol: PortMapProtocol,
    private readonly lifetimeSec = 600,
  ) {}
  async map(req: MapRequest): Promise<PortMapping> {
    this.maps.push(req);
    if (this.mode === 'hang') return new Promise(() => {});
    if (this.mode === 'fail') throw new Error(`${this.protocol} says no`);
    return {
      protocol: this.protocol,
      gateway: req.gateway,
      externalIp: '11.0.113.2',
      externalPort: req.previous?.externalPort ?? this.externalPort,
      internalPort: req.internalPort,
      lifetimeSec: this.lifetimeSec,
      handle: null,
    };
  }
  async unmap(m: PortMapping): Promise<void> {
    this.unmaps.push(m);
    if (this.unmapHangs) return new Promise(() => {});
  }
}

function setup(modes: Partial<Record<PortMapProtocol, FakeClient['mode']>> = {}) {
  const clock = new ManualClock();
  const clients = [new FakeClient('pcp'), new FakeClient('nat-pmp'), new FakeClient('upnp')];
  for (const c of clients) c.mode = modes[c.protocol] ?? 'ok';
  const changes: Array<PortMapping | null> = [];
  const mapper = new PortMapper({
    clock,
    log: new Logger('error', 'text', () => {}, true),
    internalPort: () => 4242,
    gateway: async () => '192.168.1.1',
    clients,
    lifetimeSec: 7200,
    changed: (m) => changes.push(m),
  });
  const [pcp, natpmp, upnp] = clients as [FakeClient, FakeClient, FakeClient];
  return { clock, mapper, pcp, natpmp, upnp, changes };
}

test('PCP first, then NAT-PMP; the first that maps wins and UPnP is not asked', async () => {
  const { mapper, pcp, natpmp, upnp, changes } = setup({ pcp: 'fail' });
  mapper.start();
  await settle();
  assert.equal(pcp.maps.length, 1);
  assert.equal(natpmp.maps.length, 1);
  assert.equal(upnp.maps.length, 0);
  assert.deepEqual(natpmp.maps[0], { gateway: '192.168.1.1', internalPort: 4242, lifetimeSec: 7200 });
  assert.equal(changes.length, 1);
  const s = mapper.status();
  assert.equal(s.state, 'mapped');
  assert.equal(s.mapping?.protocol, 'nat-pmp');
  assert.deepEqual(s.failures, [{ protocol: 'pcp', error: 'pcp says no' }]);
});

test('renewed at half the granted lifetime with the previous mapping, not before', async () => {
  const { clock, mapper, pcp } = setup();
  mapper.start();
  await settle();
  clock.advance(300_000 - 1);
  await settle();
  assert.equal(pcp.maps.length, 1);
  clock.advance(1);
  await settle();
  assert.equal(pcp.maps.length, 2);
  assert.equal(pcp.maps[1]?.previous?.externalPort, 40000);
  clock.advance(300_000);
  await settle();
  assert.equal(pcp.maps.length, 3, 'each renewal schedules the next');
});

test('nothing maps: rounds again after each backoff step, then stops asking', async () => {
  const { clock, mapper, pcp, upnp } = setup({ pcp: 'fail', 'nat-pmp': 'fail', upnp: 'fail' });
  mapper.start();
  await settle();
  assert.equal(mapper.status().state, 'none');
  for (const wait of RETRY_BACKOFF_MS) {
    const before = pcp.maps.length;
    clock.advance(wait - 1);
    await settle();
    assert.equal(pcp.maps.length, before, `no round before ${wait} ms`);
    clock.advance(1);
    await settle();
    assert.equal(pcp.maps.length, before + 1);
  }
  clock.advance(24 * 3600_000);
  await settle();
  assert.equal(pcp.maps.length, 1 + RETRY_BACKOFF_MS.length, 'bounded');
  assert.equal(upnp.maps.length, 1 + RETRY_BACKOFF_MS.length);
});

test('a renewal that keeps failing is retried until the mapping expires, then it is withdrawn and a new round maps with the next protocol', async () => {
  const { clock, mapper, pcp, changes } = setup();
  mapper.start();
  await settle();
  pcp.mode = 'fail';
  clock.advance(300_000); // renewal due: fails
  await settle();
  assert.equal(pcp.maps.length, 2);
  assert.equal(mapper.status().state, 'mapped');
  clock.advance(RENEW_RETRY_MS);
  await settle();
  assert.equal(pcp.maps.length, 3);
  clock.advance(300_000); // past expiry
  await settle();
  assert.deepEqual(
    changes.map((c) => c?.protocol ?? null),
    ['pcp', null, 'nat-pmp'],
    'withdrawn, then mapped anew',
  );
  assert.equal(mapper.status().mapping?.protocol, 'nat-pmp');
  assert.ok(pcp.maps.length <= 3 + Math.ceil(300_000 / RENEW_RETRY_MS) + 1, `bounded renewals: ${pcp.maps.length}`);
});

test('stop deletes the mapping, and waits at most DELETE_WAIT_MS for the gateway', async () => {
  const { clock, mapper, pcp } = setup();
  mapper.start();
  await settle();
  pcp.unmapHangs = true;
  let stopped = false;
  const stopping = mapper.stop().then(() => (stopped = true));
  await settle();
  assert.equal(pcp.unmaps.length, 1);
  assert.equal(stopped, false);
  clock.advance(DELETE_WAIT_MS);
  await stopping;
  assert.equal(mapper.status().state, 'stopped');
  clock.advance(3600_000);
  await settle();
  assert.equal(pcp.maps.length, 1, 'no renewal after stop');
});

test('an address change releases the old mapping and maps again; a round still running when stopped keeps nothing', async () => {
  const { mapper, pcp, changes } = setup();
  mapper.start();
  await settle();
  mapper.refresh();
  await settle();
  assert.equal(pcp.unmaps.length, 1);
  assert.equal(pcp.maps.length, 2);
  assert.equal(mapper.status().state, 'mapped');
  assert.deepEqual(
    changes.map((c) => c?.externalPort ?? null),
    [40000, null, 40000],
  );

  const late = setup();
  late.pcp.mode = 'hang';
  late.mapper.start();
  await settle();
  await late.mapper.stop();
  assert.equal(late.mapper.current(), null);
});
