import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../pkg/clock/clock.js';
import { ControlError, ControlErrorCode } from '../../pkg/control/protocol.js';
import { PROBE_LEN, PROBE_MAGIC, RttProbes } from '../../pkg/control/rtt-probes.js';
import { Whoami } from '../../pkg/control/whoami.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { encodeMeta, MetaType, type MetaMessage } from '../../pkg/lighthouse/meta.js';
import { udpAddr } from '../../pkg/udp/addr.js';

const HDR = Buffer.alloc(16, 0xee);

function fakeHost(vpnIp: string, localIndex: number, remote = udpAddr('192.168.7.3', 4242)): HostInfo {
  return { vpnIp: parseIpv4(vpnIp), localIndex, remote, cert: { details: { name: vpnIp } } } as unknown as HostInfo;
}

describe('RTT probes', () => {
  it('measures the time from sending a probe to the reply that echoes its payload', async () => {
    const clock = new ManualClock(1000);
    const sent: Uint8Array[] = [];
    const probes = new RttProbes(clock, (_h, p) => sent.push(p));
    const host = fakeHost('10.99.0.2', 11);
    const result = probes.probe(host, 5000);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].length, PROBE_LEN);
    assert.ok(PROBE_MAGIC.equals(Buffer.from(sent[0].subarray(0, 8))));
    assert.ok(probes.awaits(11));
    clock.advance(12.5);
    probes.onTestReply(host, sent[0], HDR, host.remote, null);
    const r = await result;
    assert.equal(r.rttMs, 12.5);
    assert.deepEqual(r.from, host.remote);
    assert.equal(probes.awaits(11), false);
    assert.equal(probes.lastRtt(host.vpnIp)?.rttMs, 12.5);
  });

  it('ignores replies that are not its probes: empty liveness replies, other nonces, other tunnels', async () => {
    const clock = new ManualClock();
    const sent: Uint8Array[] = [];
    const probes = new RttProbes(clock, (_h, p) => sent.push(p));
    const host = fakeHost('10.99.0.2', 11);
    const result = probes.probe(host, 5000);
    probes.onTestReply(host, new Uint8Array(0), HDR, null, null);
    const forged = Buffer.from(sent[0]);
    forged[PROBE_LEN - 1] ^= 1;
    probes.onTestReply(host, forged, HDR, null, null);
    probes.onTestReply(fakeHost('10.99.0.3', 12), sent[0], HDR, null, null);
    assert.ok(probes.active, 'still waiting');
    clock.advance(3);
    probes.onTestReply(host, sent[0], HDR, null, parseIpv4('10.99.0.9'));
    const r = await result;
    assert.equal(r.rttMs, 3);
    assert.equal(r.via, parseIpv4('10.99.0.9'));
  });

  it('never sends more than 16 bytes, which is all a Nebula 1.6.1 peer survives', () => {
    const sent: Uint8Array[] = [];
    const probes = new RttProbes(new ManualClock(), (_h, p) => sent.push(p));
    void probes.probe(fakeHost('10.99.0.2', 11), 10).catch(() => {});
    assert.equal(sent[0].length, 16);
  });

  it('matches a Nebula reply, which carries its own header instead of the nonce, to the oldest probe on that tunnel', async () => {
    const clock = new ManualClock();
    const probes = new RttProbes(clock, () => {});
    const host = fakeHost('10.99.0.2', 11);
    const first = probes.probe(host, 5000);
    clock.advance(1);
    const second = probes.probe(host, 5000);
    clock.advance(2);
    const header = Buffer.from('14010000000000b80000000000000005', 'hex');
    probes.onTestReply(host, Buffer.from(header), Buffer.alloc(16, 9), null, null);
    assert.equal(
      probes.active && probes.awaits(11),
      true,
      'a 16-byte payload that is neither nonce nor header matches nothing',
    );
    probes.onTestReply(host, Buffer.from(header), header, null, null);
    assert.equal((await first).rttMs, 3);
    probes.onTestReply(host, Buffer.from(header), header, null, null);
    assert.equal((await second).rttMs, 2);
  });

  it('rejects with ETIMEOUT when no reply comes in time on its clock, and stops waiting on the tunnel', async () => {
    const clock = new ManualClock();
    const probes = new RttProbes(clock, () => {});
    const host = fakeHost('10.99.0.2', 11);
    let settled = false;
    const result = probes.probe(host, 5000).finally(() => (settled = true));
    result.catch(() => {});
    clock.advance(4999);
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'still waiting 1 ms before the timeout');
    assert.ok(probes.awaits(11));
    clock.advance(1);
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, true, 'rejected at the timeout on the clock, without real time passing');
    await assert.rejects(result, (e: unknown) => e instanceof ControlError && e.code === ControlErrorCode.timeout);
    assert.equal(probes.awaits(11), false);
    assert.equal(probes.active, false);
  });
});

describe('whoami', () => {
  const me = parseIpv4('10.99.0.5');

  it('answers a peer with the underlay address its tunnel uses', () => {
    const out: Array<{ host: HostInfo; m: MetaMessage }> = [];
    const w = new Whoami({ myIp: () => me, send: (host, m) => out.push({ host, m }) });
    const asker = fakeHost('10.99.0.2', 11, udpAddr('203.0.113.7', 40001));
    const handled = w.onMeta(
      asker,
      encodeMeta({ type: MetaType.HostWhoami, vpnIp: asker.vpnIp, addrs: [], relays: [] }),
    );
    assert.equal(handled, true);
    assert.equal(out.length, 1);
    assert.equal(out[0].m.type, MetaType.HostWhoamiReply);
    assert.equal(out[0].m.vpnIp, asker.vpnIp);
    assert.deepEqual(out[0].m.addrs, [udpAddr('203.0.113.7', 40001)]);
  });

  it('resolves a question with the addresses in the answer from that peer', async () => {
    let question: MetaMessage | undefined;
    const w = new Whoami({ myIp: () => me, send: (_h, m) => (question = m) });
    const lh = fakeHost('10.99.0.1', 11);
    const answer = w.ask(lh, 1000);
    assert.equal(question?.type, MetaType.HostWhoami);
    assert.equal(question?.vpnIp, me);
    w.onMeta(
      lh,
      encodeMeta({ type: MetaType.HostWhoamiReply, vpnIp: me, addrs: [udpAddr('198.51.100.4', 5555)], relays: [] }),
    );
    assert.deepEqual(await answer, [udpAddr('198.51.100.4', 5555)]);
  });

  it('times out on the injected clock, and clear() (the node stopping) ends every wait at once', async () => {
    const clock = new ManualClock(1000);
    const w = new Whoami({ clock, myIp: () => me, send: () => {} });
    const lh = fakeHost('10.99.0.1', 11);
    const timedOut = w.ask(lh, 500);
    clock.advance(499);
    let settled = false;
    void timedOut.catch(() => {}).finally(() => (settled = true));
    await Promise.resolve();
    assert.equal(settled, false, 'still waiting 1 ms before the timeout');
    clock.advance(1);
    await assert.rejects(timedOut, (e: ControlError) => e.code === ControlErrorCode.timeout);

    const pending = w.ask(lh, 60_000);
    w.clear();
    await assert.rejects(pending, /stopped/);
  });

  it('takes only whoami messages and leaves every other lighthouse message to the node', () => {
    const w = new Whoami({ myIp: () => me, send: () => {} });
    const lh = fakeHost('10.99.0.1', 11);
    assert.equal(w.onMeta(lh, encodeMeta({ type: MetaType.HostQuery, vpnIp: me, addrs: [], relays: [] })), false);
    assert.equal(w.onMeta(lh, encodeMeta({ type: MetaType.HostWhoami, vpnIp: lh.vpnIp, addrs: [], relays: [] })), true);
  });

  it('gives up with ETIMEOUT when the peer does not know the question (a Nebula lighthouse)', async () => {
    const clock = new ManualClock(0);
    const w = new Whoami({ clock, myIp: () => me, send: () => {} });
    const asked = w.ask(fakeHost('10.99.0.1', 11), 20);
    clock.advance(20);
    await assert.rejects(asked, (e: unknown) => e instanceof ControlError && e.code === ControlErrorCode.timeout);
  });
});
