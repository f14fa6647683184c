// The data path's batched AEAD (pkg/datapath/crypto-batch.ts over pkg/noise/session-aead.ts sealRecords/openRecords)
// against @noble/ciphers and node:crypto on the same inputs: mixed tunnels (native and node:crypto keys) in one batch,
// counters at the edges, wrong tags, wrong counters, wrong AD, short records, a closed key. Then the pipelines around
// it: one crossing per received batch and per TUN read, order and replay semantics (a forged packet does not move the
// window; a duplicate in the same batch is dropped), and nothing overtakes a pending batch in either direction.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CryptoBatch, type RecordOp } from '../../pkg/datapath/crypto-batch.js';
import { flushOpened, handleUdpPacket } from '../../pkg/datapath/outside.js';
import { flushSealed, sealForTunnel, sendOnTunnel } from '../../pkg/datapath/tunnel-sender.js';
import { HEADER_LEN, MessageType, TestSubType } from '../../pkg/header/header.js';
import { AEAD_TAG_LEN, createAead, type Aead, type AeadCipher } from '../../pkg/noise/aead.js';
import { NativeAead, nativeAeadAddon } from '../../pkg/noise/native-aead.js';
import { AEAD_META_WORDS as W, openRecords, sealRecords } from '../../pkg/noise/session-aead.js';
import { sentToRemoteRecently } from '../../pkg/punchy/punchy.js';
import { wrapRelayed } from '../../pkg/relay/frame.js';
import { sameAddr, udpAddr } from '../../pkg/udp/addr.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { Rand } from './helpers/fuzz.js';
import { connectedPair } from './helpers/mesh.js';
import { EDGE_COUNTERS, nobleAead } from './helpers/noble-aead.js';
import { headerOf, icmpEcho, udpPacket, udpPayloadText } from './helpers/packets.js';
import { waitFor } from './helpers/wait.js';

const CIPHERS: AeadCipher[] = ['aes', 'chachapoly'];
const native = nativeAeadAddon() !== null;

const sealOp: RecordOp = (aead, buf, meta, counters, count, ok) => {
  sealRecords(aead, buf, meta, counters, count);
  ok.fill(1, 0, count);
};

interface Tunnel {
  key: Uint8Array;
  aead: Aead;
}

/** Three tunnels: native, node:crypto, native (node:crypto for all when the addon is not built). */
function tunnels(r: Rand, cipher: AeadCipher): Tunnel[] {
  return [0, 1, 2].map((i) => {
    const key = r.bytes(32);
    const aead = native && i !== 1 ? new NativeAead(nativeAeadAddon()!, cipher, key) : createAead(cipher, key);
    return { key, aead };
  });
}

test('batched seal and open of mixed tunnels equal @noble/ciphers and node:crypto record by record', () => {
  const r = new Rand(1919);
  for (const cipher of CIPHERS) {
    const tuns = tunnels(r, cipher);
    const records = Array.from({ length: 40 }, (_, i) => ({
      tunnel: i % 5 === 4 ? 1 : r.int(3),
      counter: i < EDGE_COUNTERS.length ? EDGE_COUNTERS[i]! : r.int(2 ** 53),
      ad: r.bytes(HEADER_LEN),
      pt: r.bytes(i === 0 ? 0 : r.pick([1, 15, 16, 17, 1300, r.int(1400)])),
    }));

    // Seal: header (AD) then plaintext, sealed in place.
    const seal = new CryptoBatch();
    const at: number[] = [];
    for (const [i, rec] of records.entries()) {
      const size = HEADER_LEN + rec.pt.length + AEAD_TAG_LEN;
      assert.ok(seal.fits(size) || seal.count === 0);
      const off = seal.add(tuns[rec.tunnel]!.aead, rec.counter, size);
      seal.chunk.set(rec.ad, off);
      seal.chunk.set(rec.pt, off + HEADER_LEN);
      seal.setMeta(i, off, HEADER_LEN, off + HEADER_LEN, rec.pt.length, off + HEADER_LEN);
      at.push(off);
    }
    seal.run(sealOp);
    const sealed = records.map((rec, i) => {
      const what = `${cipher} record ${i} (tunnel ${rec.tunnel}, counter ${rec.counter}, ${rec.pt.length} bytes)`;
      assert.equal(seal.ok[i], 1, what);
      const body = Uint8Array.from(
        seal.chunk.subarray(at[i]! + HEADER_LEN, at[i]! + HEADER_LEN + rec.pt.length + AEAD_TAG_LEN),
      );
      const key = tuns[rec.tunnel]!.key;
      assert.deepEqual(body, nobleAead(cipher, key, rec.counter, rec.ad).encrypt(rec.pt), `noble, ${what}`);
      assert.deepEqual(
        body,
        new Uint8Array(createAead(cipher, key).seal(rec.counter, rec.pt, rec.ad)),
        `node:crypto, ${what}`,
      );
      return body;
    });

    // Open the same records, some spoiled: the flags and plaintexts must be what noble says.
    const spoiled = new Map<number, string>([
      [5, 'wrong tag'],
      [6, 'wrong counter'],
      [7, 'wrong AD'],
      [8, 'shorter than a tag'],
      [9, 'flipped ciphertext'],
    ]);
    const open = new CryptoBatch();
    const inputs = records.map((rec, i) => {
      let body = Uint8Array.from(sealed[i]!);
      let ad = rec.ad;
      let counter = rec.counter;
      const how = spoiled.get(i);
      if (how === 'wrong tag') body[body.length - 1]! ^= 1;
      if (how === 'wrong counter') counter = counter === 2 ** 53 - 1 ? 0 : counter + 1;
      if (how === 'wrong AD') ad = Uint8Array.from(ad, (b, k) => (k === 3 ? b ^ 0x40 : b));
      if (how === 'shorter than a tag') body = body.subarray(0, AEAD_TAG_LEN - 1);
      if (how === 'flipped ciphertext' && body.length > AEAD_TAG_LEN) body[0]! ^= 0x80;
      return { body, ad, counter, rec };
    });
    for (const [i, input] of inputs.entries()) {
      const off = open.add(tuns[input.rec.tunnel]!.aead, input.counter, HEADER_LEN + input.body.length);
      open.chunk.set(input.ad, off);
      open.chunk.set(input.body, off + HEADER_LEN);
      open.setMeta(i, off, HEADER_LEN, off + HEADER_LEN, input.body.length, off + HEADER_LEN);
    }
    open.run(openRecords);
    for (const [i, input] of inputs.entries()) {
      const what = `${cipher} record ${i}${spoiled.has(i) ? ` (${spoiled.get(i)})` : ''}`;
      let expected: Uint8Array | null;
      try {
        expected = nobleAead(cipher, tuns[input.rec.tunnel]!.key, input.rec.counter, input.rec.ad).decrypt(input.body);
        if (input.counter !== input.rec.counter || input.ad !== input.rec.ad) expected = null;
      } catch {
        expected = null;
      }
      assert.equal(open.ok[i], expected === null ? 0 : 1, what);
      const m = open.meta.subarray(i * W, i * W + W);
      if (expected !== null)
        assert.deepEqual(
          Uint8Array.from(open.chunk.subarray(m[4]!, m[4]! + input.body.length - AEAD_TAG_LEN)),
          expected,
          what,
        );
    }
    assert.equal([...open.ok.subarray(0, records.length)].filter((x) => x === 0).length, spoiled.size);

    // A key closed meanwhile: its records neither seal nor open; the other tunnels' records in the batch still do.
    tuns[2]!.aead.close();
    open.run(openRecords);
    seal.run(sealOp);
    for (const [i, rec] of records.entries()) {
      if (rec.tunnel === 2) {
        assert.equal(open.ok[i], 0, `closed key opens nothing: ${i}`);
        assert.equal(seal.ok[i], 0, `closed key seals nothing: ${i}`);
      } else {
        assert.equal(seal.ok[i], 1, `other tunnels still seal: ${i}`);
      }
    }
    for (const t of tuns) t.aead.close();
  }
});

test('a chunk switch never splits pending records: fits() says no, a new chunk starts only when the batch is empty', () => {
  const b = new CryptoBatch();
  const aead = createAead('aes', new Uint8Array(32));
  b.add(aead, 3, 100_000);
  b.add(aead, 4, 100_000);
  assert.equal(b.fits(100_000), false);
  assert.throws(() => b.add(aead, 5, 100_000), /chunk full/);
  b.clear();
  const first = b.chunk;
  b.add(aead, 5, 100_000);
  assert.notEqual(b.chunk, first, 'a new chunk; the old one stays with whoever holds views of it');
});

/** Counts addon crossings of one kind while `fn` runs (native keys only). */
async function crossings(kind: 'openBatch' | 'sealBatch', fn: () => Promise<void>): Promise<number> {
  const proto = NativeAead.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const original = proto[kind]!;
  let calls = 0;
  proto[kind] = function (this: unknown, ...args: unknown[]) {
    calls++;
    return original.apply(this, args);
  };
  try {
    await fn();
  } finally {
    proto[kind] = original;
  }
  return calls;
}

const A = '10.99.0.1';
const B = '10.99.0.2';

test('a received batch opens in one crossing; a forged packet does not move the window, a duplicate is dropped, order kept', async (t) => {
  const { a, b, ab } = await connectedPair(t);
  const data = (s: string) => udpPacket({ src: A, dst: B, payload: s });
  const p1 = sealForTunnel(ab, MessageType.Message, 0, data('one'));
  const p2 = sealForTunnel(ab, MessageType.Message, 0, data('two'));
  const p3 = sealForTunnel(ab, MessageType.Message, 0, data('three'));
  const forged = Buffer.from(p2);
  forged[forged.length - 1]! ^= 1;
  const before = b.tun.written.length;
  const calls = await crossings('openBatch', async () => {
    // One turn: what the UDP socket hands over from one recvmmsg.
    for (const p of [p1, forged, p2, p1, p3]) handleUdpPacket(b.node, p, a.addr);
    await waitFor(() => b.tun.written.length >= before + 3, { what: 'three delivered' });
  });
  if (native) assert.equal(calls, 1, 'one addon crossing for the batch');
  assert.deepEqual(b.tun.written.slice(before).map(udpPayloadText), ['one', 'two', 'three']);
  assert.equal(b.node.counters.get('drops', 'outside-decrypt'), 1, 'the forgery');
  assert.equal(b.node.counters.get('drops', 'outside-replay'), 1, 'the duplicate of counter 3');
});

test('a packet that is not data completes the pending batch first: data, then the close, in one batch', async (t) => {
  const { a, b, ab } = await connectedPair(t);
  const before = b.tun.written.length;
  const data = sealForTunnel(ab, MessageType.Message, 0, udpPacket({ src: A, dst: B, payload: 'last words' }));
  const close = sealForTunnel(ab, MessageType.CloseTunnel, 0, new Uint8Array(0));
  handleUdpPacket(b.node, data, a.addr);
  handleUdpPacket(b.node, close, a.addr);
  flushOpened(b.node);
  assert.equal(b.tunnelTo(a), undefined, 'closed');
  await waitFor(() => b.tun.written.length > before, { what: 'the data delivered' });
  assert.deepEqual(b.tun.written.slice(before).map(udpPayloadText), ['last words']);
  assert.equal(b.node.counters.get('drops', 'outside-decrypt'), 0);
});

test('a TUN read is sealed in one crossing, counters in order; a test request sent after data leaves after it', async (t) => {
  const { a, b, ab } = await connectedPair(t);
  const sent = a.memUdp!.sent;
  const start = sent.length;
  const before = b.tun.written.length;
  const payloads = ['s1', 's2', 's3', 's4'];
  const calls = await crossings('sealBatch', async () => {
    a.tun.injectBatch(payloads.map((s) => udpPacket({ src: A, dst: B, payload: s })));
    await waitFor(() => b.tun.written.length >= before + payloads.length, { what: 'the read delivered' });
  });
  if (native) assert.equal(calls, 1, 'one addon crossing for the read');
  assert.deepEqual(b.tun.written.slice(before).map(udpPayloadText), payloads);
  const counters = sent.slice(start).map((s) => headerOf(s.packet).counter);
  assert.deepEqual(
    counters,
    [...counters].sort((x, y) => x - y),
    'counters leave in order',
  );

  const mark = sent.length;
  sendOnTunnel(a.node, ab, MessageType.Message, 0, udpPacket({ src: A, dst: B, payload: 'data first' }));
  sendOnTunnel(a.node, ab, MessageType.Test, TestSubType.Request, new Uint8Array(0));
  await waitFor(() => sent.length >= mark + 2, { what: 'both sent' });
  assert.deepEqual(
    sent.slice(mark, mark + 2).map((s) => headerOf(s.packet).type),
    [MessageType.Message, MessageType.Test],
  );
});

test('a key closed between the add and the seal sends nothing and is counted', async (t) => {
  const { a, ab } = await connectedPair(t);
  const sent = a.memUdp!.sent;
  const mark = sent.length;
  sendOnTunnel(a.node, ab, MessageType.Message, 0, udpPacket({ src: A, dst: B, payload: 'too late' }));
  a.node.closeTunnel(ab, 'test', false);
  await waitFor(() => a.node.counters.get('drops', 'seal-key-closed') === 1, { what: 'the drop' });
  assert.equal(sent.length, mark);
});

test('only what was sealed and sent counts as sent: not a batched packet whose key was closed first', async (t) => {
  const { a, ab } = await connectedPair(t);
  const counted = udpPacket({ src: A, dst: B, payload: 'counted' });
  const { packetsOut, bytesOut } = ab;
  sendOnTunnel(a.node, ab, MessageType.Message, 0, counted);
  flushSealed(a.node);
  assert.equal(ab.packetsOut, packetsOut + 1);
  assert.equal(ab.bytesOut, bytesOut + counted.length);

  ab.lastSendAt = -1;
  sendOnTunnel(a.node, ab, MessageType.Message, 0, udpPacket({ src: A, dst: B, payload: 'too late' }));
  a.node.closeTunnel(ab, 'test', false);
  await waitFor(() => a.node.counters.get('drops', 'seal-key-closed') === 1, { what: 'the drop' });
  assert.equal(ab.packetsOut, packetsOut + 1, 'the dropped packet is not counted');
  assert.equal(ab.bytesOut, bytesOut + counted.length);
  assert.equal(ab.lastSendAt, -1, 'nothing was sent');
});

test('a batched packet counts as sent to the address it was added for, not to a remote the tunnel roamed to before the flush', async (t) => {
  const { a, b, ab } = await connectedPair(t);
  const sent = a.memUdp!.sent;
  const mark = sent.length;
  const { packetsOut } = ab;
  const old = ab.remote!;
  const roamed = udpAddr('203.0.113.7', 4242);
  sendOnTunnel(a.node, ab, MessageType.Message, 0, udpPacket({ src: A, dst: B, payload: 'for the old address' }));
  // A roam in the same turn (an authenticated packet from the new address handled before the batch's microtask).
  ab.remote = roamed;
  flushSealed(a.node);
  assert.equal(sent.length, mark + 1);
  assert.ok(sameAddr(sent[mark]!.to, b.addr), 'the packet went where it was sealed for');
  assert.notEqual(ab.sentTo, roamed, 'the new remote was not sent to: its keep-alive is still due');
  assert.equal(sentToRemoteRecently(ab, a.node.clock.now()), false);

  // One tunnel's packets to two addresses in one batch: each run reports its own address.
  ab.remote = old;
  sendOnTunnel(a.node, ab, MessageType.Message, 0, udpPacket({ src: A, dst: B, payload: 'old' }));
  ab.remote = roamed;
  sendOnTunnel(a.node, ab, MessageType.Message, 0, udpPacket({ src: A, dst: B, payload: 'new' }));
  flushSealed(a.node);
  assert.equal(ab.packetsOut, packetsOut + 3);
  assert.equal(ab.sentTo, roamed, 'the last run went to the remote the tunnel has now');
  ab.remote = old;
});

test("data pending in the batch takes its counter when sealed: a window's worth of packets sealed on their own meanwhile (a relay frame, the TCP probe's way) cannot push it out of the peer's window", async (t) => {
  const { a, b, ab } = await connectedPair(t);
  const sent = a.memUdp!.sent;
  const mark = sent.length;
  const before = b.tun.written.length;
  const WINDOW = 1024;
  sendOnTunnel(a.node, ab, MessageType.Message, 0, udpPacket({ src: A, dst: B, payload: 'pending' }));
  // What the relay manager sends on the hop's tunnel (the relay index is unknown to b, which drops it).
  a.memUdp!.send(wrapRelayed(ab, 0x1234, new Uint8Array(32)), b.addr);
  for (let i = 0; i < WINDOW + 8; i++)
    a.memUdp!.send(sealForTunnel(ab, MessageType.Test, TestSubType.Reply, new Uint8Array(0)), b.addr);
  await waitFor(() => b.tun.written.length > before || b.node.counters.get('drops', 'outside-replay') > 0, {
    what: 'the data delivered or dropped',
  });
  assert.deepEqual(b.tun.written.slice(before).map(udpPayloadText), ['pending']);
  assert.equal(b.node.counters.get('drops', 'outside-replay'), 0);
  const counters = sent.slice(mark).map((s) => headerOf(s.packet).counter);
  assert.equal(counters.length, WINDOW + 10);
  assert.ok(
    counters.every((c, i) => i === 0 || c > counters[i - 1]!),
    "a tunnel's counters leave in order",
  );
});

test('a data packet added while the batch is being sent waits for the next flush: its counter comes after the whole batch', async (t) => {
  const { a, b, ab } = await connectedPair(t);
  const sent = a.memUdp!.sent;
  const mark = sent.length;
  const before = b.tun.written.length;
  const udp = a.memUdp!;
  const send = udp.send.bind(udp);
  let reentered = false;
  // The socket's first send re-enters the pipeline, as a send that synchronously hands us a packet would.
  udp.send = (packet, to) => {
    send(packet, to);
    if (reentered) return;
    reentered = true;
    sendOnTunnel(a.node, ab, MessageType.Message, 0, udpPacket({ src: A, dst: B, payload: 'late' }));
  };
  t.after(() => {
    udp.send = send;
  });
  const payloads = ['r1', 'r2', 'r3'];
  a.tun.injectBatch(payloads.map((s) => udpPacket({ src: A, dst: B, payload: s })));
  await waitFor(() => b.tun.written.length >= before + 4, { what: 'the read and the late packet delivered' });
  const counters = sent.slice(mark).map((s) => headerOf(s.packet).counter);
  assert.equal(counters.length, 4);
  assert.ok(
    counters.every((c, i) => i === 0 || c > counters[i - 1]!),
    `a tunnel's counters leave in order: ${counters.join(' ')}`,
  );
  assert.deepEqual(b.tun.written.slice(before).map(udpPayloadText), [...payloads, 'late']);
});

test('a batched packet the peer answers tells the path-health detector once it was sealed and sent, not at the add', async (t) => {
  const { a, ab } = await connectedPair(t);
  const told: HostInfo[] = [];
  const node = a.node as unknown as { answerableSent(host: HostInfo, test: boolean): void };
  node.answerableSent = (host, test) => {
    assert.equal(test, false, 'a data packet, not a test request');
    told.push(host);
  };
  sendOnTunnel(a.node, ab, MessageType.Message, 0, icmpEcho(A, B, 8));
  assert.equal(told.length, 0, 'nothing is said while the packet waits in the batch');
  flushSealed(a.node);
  assert.deepEqual(told, [ab], 'sealed and sent: a reply is due');

  sendOnTunnel(a.node, ab, MessageType.Message, 0, udpPacket({ src: A, dst: B, payload: 'one-way' }));
  flushSealed(a.node);
  assert.equal(told.length, 1, 'UDP is not answerable');

  sendOnTunnel(a.node, ab, MessageType.Message, 0, icmpEcho(A, B, 8, 1));
  a.node.closeTunnel(ab, 'test', false);
  await waitFor(() => a.node.counters.get('drops', 'seal-key-closed') === 1, { what: 'the drop' });
  assert.equal(told.length, 1, 'a packet whose key was closed before the seal was never sent: no reply is due');
});
