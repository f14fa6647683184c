import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';

import type { DataPathContext } from '../../pkg/datapath/context.js';
import { ManualClock } from '../../pkg/clock/clock.js';
import { OpenBatch } from '../../pkg/datapath/open-batch.js';
import { reusedSlots } from '../../pkg/datapath/reused-slots.js';
import { SealBatch, type SealOutcomes } from '../../pkg/datapath/seal-batch.js';
import { TunBatch, type BatchTunWriter } from '../../pkg/datapath/tun-batch.js';
import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import type { TunAddon, TunPollHandle } from '../../pkg/native/addon.js';
import { createAead } from '../../pkg/noise/aead.js';
import { LinuxTun } from '../../pkg/tun/linux.js';
import { udpAddr } from '../../pkg/udp/addr.js';
import type { UdpConn } from '../../pkg/udp/udp-conn.js';

// The per-instance arrays the data path writes packet by packet (pkg/datapath/reused-slots.ts reusedSlots): a fresh
// instance's must have the hidden class (map) and length of one that has carried packets. Code V8 optimized on the
// start-up warm-up's instances runs on the real node's fresh ones; an array that started as an empty `[]` (small
// integers, length 0) made that code deopt on the first real packet: "wrong map" in TunBatch.add, "out of bounds"
// in CryptoBatch.add. %HaveSameMap is V8's own test hook (Node 20 here): if a Node update turns this red with no code
// change, check with --trace-deopt whether the real traffic after the warm-up deopts again before changing the test.

setFlagsFromString('--allow-natives-syntax');
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: unknown, b: unknown) => boolean;

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The named array fields of `obj` (private fields are plain properties at run time). */
function arrays(obj: object, names: string[]): Map<string, unknown[]> {
  const fields = obj as Record<string, unknown>;
  return new Map(names.map((n) => [n, fields[n] as unknown[]]));
}

function assertLikeUsed(fresh: Map<string, unknown[]>, used: Map<string, unknown[]>): void {
  for (const [name, array] of fresh) {
    const other = used.get(name)!;
    assert.ok(haveSameMap(array, other), `${name}: a fresh instance's array has another map than a used one's`);
    assert.equal(array.length, other.length, `${name}: length`);
  }
}

const ctx = { counters: { inc() {} }, log: { debug() {} } } as unknown as DataPathContext;
const conn = { send() {} } as unknown as UdpConn;
const dest = udpAddr('10.0.0.1', 4242);
const clock = new ManualClock();

function fakeHost(): HostInfo {
  const aead = createAead('aes', new Uint8Array(32).fill(7));
  let counter = 0;
  return { keys: { send: aead, recv: aead }, nextCounter: () => ++counter, remoteIndex: 5 } as unknown as HostInfo;
}

test("a fresh seal or open batch's per-record arrays are like a used one's", () => {
  const outcomes: SealOutcomes = { sent() {}, dropped() {} };
  const sealFields = ['hosts', 'types', 'subtypes', 'conns', 'dests', 'lengths', 'answerable'];
  const used = new SealBatch(outcomes);
  const host = fakeHost();
  for (let i = 0; i < 3; i++) {
    used.add(host, conn, dest, 1, 0, new Uint8Array(40), i % 2 === 0);
    used.flush();
  }
  assertLikeUsed(arrays(new SealBatch(outcomes), sealFields), arrays(used, sealFields));
  const crypto = (b: object): Map<string, unknown[]> => arrays((b as { batch: object }).batch, ['aeads']);
  assertLikeUsed(crypto(new SealBatch(outcomes)), crypto(used));

  const usedOpen = new OpenBatch(
    () => {},
    () => {},
    clock,
  );
  for (let i = 0; i < 3; i++) {
    usedOpen.add(host, new Uint8Array(16 + 40 + 16), i + 1, dest);
    usedOpen.flush();
  }
  const fresh = new OpenBatch(
    () => {},
    () => {},
    clock,
  );
  assertLikeUsed(arrays(fresh, ['hosts', 'froms']), arrays(usedOpen, ['hosts', 'froms']));
  assertLikeUsed(crypto(fresh), crypto(usedOpen));
});

test("a fresh TUN batch's arrays are like those of one that wrote one-packet turns", async () => {
  const tun: BatchTunWriter = { write() {}, writeBatch: (packets) => packets.length };
  const used = new TunBatch(tun, ctx);
  for (let i = 0; i < 3; i++) {
    used.add(Uint8Array.of(i));
    await turn();
  }
  assertLikeUsed(arrays(new TunBatch(tun, ctx), ['packets', 'spare']), arrays(used, ['packets', 'spare']));
});

test("a fresh LinuxTun's read batch is like that of one that delivered one-packet reads", () => {
  const polls: Array<(err: Error | null, n: number) => void> = [];
  const addon = {
    tun_poll_start: (_fd: number, _buf: Uint8Array, lens: Uint32Array, _slot: number, cb: (typeof polls)[0]) => {
      lens[0] = 20;
      polls.push(cb);
      return {} as TunPollHandle;
    },
  } as unknown as TunAddon;
  const used = new LinuxTun(addon, 7, 'fake0', 1300);
  used.onPackets(() => {});
  for (let i = 0; i < 3; i++) polls[0](null, 1);
  assertLikeUsed(arrays(new LinuxTun(addon, 8, 'fake1', 1300), ['packets']), arrays(used, ['packets']));
});

test('reusedSlots: packed slots of the kind of their value, as many as asked', () => {
  const objects = reusedSlots<object | undefined>(64, undefined);
  assert.equal(objects.length, 64);
  const grown: (object | undefined)[] = [];
  for (let i = 0; i < 64; i++) grown.push(i % 2 === 0 ? {} : undefined);
  assert.ok(haveSameMap(objects, grown));
  const numbers = reusedSlots(8, 0);
  assert.ok(haveSameMap(numbers, [1, 2, 3]));
});
