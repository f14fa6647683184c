// Driving the addon's offload probes (pkg/native/offload_probe.c) from the offload tests and their fuzzing: a batch
// of packets in the layout tun_writev_batch takes, the writes a join makes, what a read's cut delivers, each output
// buffer between guard bytes so a write outside it shows. The packets themselves come from offload-packets.ts.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadNativeAddon, VNET_HDR_LEN } from '../../../pkg/native/addon.js';
import { hex, mutate, randomBytes, type Rand } from './fuzz.js';
import { checksum, readVnetHeader, type VnetHeader } from './offload-packets.js';

const built = existsSync(fileURLToPath(new URL('../../../../build/Release/mesh_native.node', import.meta.url)));
/** node:test's `skip` for tests that need the built addon. */
export const skipWithoutAddon: string | false = built ? false : 'the addon is not built (npx node-gyp rebuild)';

const GUARD = 64;
const CANARY = 0xa5;

/** A buffer of `size` bytes between two guard zones; returns the view and a check that the guards are intact. */
export function guarded(size: number): { view: Uint8Array; intact: () => boolean } {
  const whole = new Uint8Array(size + 2 * GUARD).fill(CANARY);
  const view = whole.subarray(GUARD, GUARD + size);
  const intact = (): boolean => {
    for (let i = 0; i < GUARD; i++) if (whole[i] !== CANARY || whole[GUARD + size + i] !== CANARY) return false;
    return true;
  };
  return { view, intact };
}

/** `packets` back to back in one buffer, with their offsets and lengths (tun_writev_batch's arguments). */
export function packetBatch(packets: readonly Uint8Array[]): {
  buf: Uint8Array;
  offsets: Uint32Array;
  lens: Uint32Array;
} {
  const buf = new Uint8Array(packets.reduce((s, p) => s + p.length, 0));
  const offsets = new Uint32Array(packets.length);
  const lens = new Uint32Array(packets.length);
  packets.reduce((off, p, i) => (buf.set(p, off), (offsets[i] = off), (lens[i] = p.length), off + p.length), 0);
  return { buf, offsets, lens };
}

/** One write a join makes: its vnet header and the packet behind it. */
export interface ProbeWrite {
  hdr: VnetHeader;
  packet: Uint8Array;
}

export interface JoinOptions {
  /** The device took the UDP offloads (offload_gro_join_udp); default false (offload_gro_join). */
  uso?: boolean;
  /** Writes of this gso_type are refused, as a kernel refusing a joined write would; refusals counted here. */
  refuse?: { gsoType: number; refusals: Uint32Array };
}

/** The writes a tun_writev_batch of `packets` makes, and whether the output's guard bytes stayed intact. */
export function probeJoin(
  packets: readonly Uint8Array[],
  opts: JoinOptions = {},
): {
  writes: ProbeWrite[];
  intact: boolean;
} {
  const { buf, offsets, lens } = packetBatch(packets);
  const count = packets.length;
  const out = guarded(buf.length + count * (VNET_HDR_LEN + 100));
  const outLens = new Uint32Array(count);
  const addon = loadNativeAddon();
  const join = opts.uso ? addon.offload_gro_join_udp : addon.offload_gro_join;
  const refuse = opts.refuse;
  const n = refuse
    ? join(buf, offsets, lens, count, out.view, outLens, refuse.gsoType, refuse.refusals)
    : join(buf, offsets, lens, count, out.view, outLens);
  const writes: ProbeWrite[] = [];
  for (let i = 0, at = 0; i < n; at += outLens[i], i++) {
    const raw = out.view.subarray(at, at + outLens[i]);
    writes.push({ hdr: readVnetHeader(raw), packet: raw.slice(VNET_HDR_LEN) });
  }
  return { writes, intact: out.intact() };
}

/** What one read of `hdr` + `pkt` delivers into `slotCount` slots, and whether the slots' guard bytes held. */
export function probeCut(
  hdr: Uint8Array,
  pkt: Uint8Array,
  slotSize: number,
  slotCount: number,
): { packets: Uint8Array[]; lens: number[]; intact: boolean } {
  const slots = guarded(slotSize * slotCount);
  const lens = new Uint32Array(slotCount);
  const n = loadNativeAddon().offload_tso_cut(hdr, pkt, slots.view, slotSize, lens);
  const packets = Array.from({ length: n }, (_, i) => slots.view.slice(i * slotSize, i * slotSize + lens[i]));
  return { packets, lens: Array.from(lens.subarray(0, n)), intact: slots.intact() };
}

/**
 * One round of cut fuzzing: a random slot layout, and one of `samples` whole (`wholePercent` of the rounds), mutated,
 * or random bytes, read under `hdr`. Asserts that nothing was written outside the slots and that no more packets
 * came out than there were slots; returns them, the slot size and a description of the round for messages.
 */
export function fuzzCut(
  r: Rand,
  hdr: Uint8Array,
  samples: Uint8Array[],
  wholePercent: number,
): { packets: Uint8Array[]; slotSize: number; ctx: string } {
  const slotSize = r.pick([48, 64, 128, 1344, 1500]);
  const slotCount = 1 + r.int(8);
  const roll = r.int(100);
  const pkt =
    roll < wholePercent
      ? r.pick(samples)
      : roll < 90
        ? mutate(r, r.pick(samples), samples, 4, slotSize + 65536)
        : randomBytes(r, 2048);
  const got = probeCut(hdr, pkt, slotSize, slotCount);
  const ctx = `hdr ${hex(hdr)} slot ${slotSize}x${slotCount} pkt ${hex(pkt, 80)}`;
  assert.ok(got.intact, `wrote outside the slots: ${ctx}`);
  assert.ok(got.packets.length <= slotCount, ctx);
  return { packets: got.packets, slotSize, ctx };
}

/** The kernel's side of NEEDS_CSUM: the full checksum over [csumStart, end) with the partial sum in place. */
export function completeChecksum(hdr: VnetHeader, packet: Uint8Array): Uint8Array {
  const p = packet.slice();
  const at = hdr.csumStart + hdr.csumOffset;
  const c = checksum(p, hdr.csumStart, p.length);
  p[at] = c >> 8;
  p[at + 1] = c & 0xff;
  return p;
}
