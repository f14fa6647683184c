// Loads the native addon, mesh_native (binding.gyp builds it at `npm install`): TUN, batched UDP, netlink and the
// data path's batched AEAD, which is why it lives in its own folder and not under tun/. Looked up by walking up from
// this file so the same code works from the repo (dist/pkg/native/ is three levels below the root), from the bundled executables (dist/bin/, where import.meta.url is
// the bundle's), from a global install, and via symlinks (node resolves this module to its real path). Loaded
// lazily, so MemoryTun users never need it.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The C exports (pkg/native/*.c). Errors thrown by these carry `code` = errno name and `errno`. */
export interface TunAddon {
  /**
   * `offload`: IFF_VNET_HDR with the TCP offloads; `udpOffload`: the kernel took the UDP ones too (Linux >= 6.2),
   * asked for unless `udpOffload` is false (tun.udp_offload) or MESH_TUN_USO=0.
   */
  tun_open(name: string, udpOffload?: boolean): { fd: number; name: string; offload?: boolean; udpOffload?: boolean };
  tun_close(fd: number): void;
  /** 1 if the kernel took the packet, 0 if it dropped it. */
  tun_write(fd: number, buf: Uint8Array, off: number, len: number): number;
  /**
   * Returns how many of the `count` packets the kernel accepted. A joined write the kernel refuses is written again
   * packet by packet (a refused UDP one ends UDP joins on the fd) and adds one to `refusals[0]`, when given.
   */
  tun_writev_batch(
    fd: number,
    buf: Uint8Array,
    offsets: Uint32Array,
    lens: Uint32Array,
    count: number,
    refusals?: Uint32Array,
  ): number;
  /** Slot i of `buf` starts at i * slotSize; `cb` runs once per batch with the count (lengths land in `lens`). */
  tun_poll_start(
    fd: number,
    buf: Uint8Array,
    lens: Uint32Array,
    slotSize: number,
    cb: (err: Error | null, count: number) => void,
  ): TunPollHandle;
  tun_poll_stop(handle: TunPollHandle): void;
}

/** A TUN stand-in for in-process runs of the real TUN code (pkg/tun/socketpair.ts). */
export interface TunPairAddon {
  /**
   * Two ends of a non-blocking AF_UNIX SOCK_SEQPACKET pair: the first works as a TUN without offloads (whole packets
   * per read and write) for every TunAddon call, the second is its other side. Both close with tun_close.
   */
  tun_socketpair(): [number, number];
}

/**
 * The TUN's offload steps (native/offload_probe.c) on buffers instead of a device, for unit tests: exactly the
 * code a read (TSO cutting) or a tun_writev_batch (GRO joining) runs. A vnet header is VNET_HDR_LEN bytes, host
 * byte order: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset.
 */
export interface OffloadProbeAddon {
  /** What one read of `hdr` + `pkt` yields: packets in slots[i * slotSize ..], lengths in `lens`; returns the count. */
  offload_tso_cut(hdr: Uint8Array, pkt: Uint8Array, slots: Uint8Array, slotSize: number, lens: Uint32Array): number;
  /** The writes tun_writev_batch makes for these packets (GroJoinProbe). */
  offload_gro_join: GroJoinProbe;
  /** offload_gro_join on a device that took the UDP offloads too (TUN_F_USO4/6): UDP datagrams join as well. */
  offload_gro_join_udp: GroJoinProbe;
}

/**
 * The writes tun_writev_batch makes for the packets buf[offsets[i] .. + lens[i]), back to back in `out` (each vnet
 * header + packet, its length in `outLens`); returns how many. With `refuseGsoType` (>= 0) the buffer refuses writes
 * of that gso_type as a kernel would, and `refusals[0]` counts them as tun_writev_batch's does.
 */
export type GroJoinProbe = (
  buf: Uint8Array,
  offsets: Uint32Array,
  lens: Uint32Array,
  count: number,
  out: Uint8Array,
  outLens: Uint32Array,
  refuseGsoType?: number,
  refusals?: Uint32Array,
) => number;

export const VNET_HDR_LEN = 10;

/**
 * Batched UDP (native/udp.c), for an underlay faster than node:dgram. Per-datagram records are UDP_META_WORDS
 * words of a Uint32Array: [offset, length, family (4|6), port, addr0..addr3]; family 4 keeps the address in addr0
 * as a uint32 (the Ipv4 of pkg/ip).
 */
export interface UdpAddon {
  /** Binds a non-blocking socket; an IPv6 host ("::") is dual-stack. Port 0 picks one; `port` is the bound one. */
  udp_open(host: string, port: number): { fd: number; port: number };
  /** Asks for buffer sizes (0 = leave as is), past the sysctl cap when privileged; returns what was granted. */
  udp_set_buffers(fd: number, rcvbuf: number, sndbuf: number): { rcvbuf: number; sndbuf: number };
  /**
   * UDP_GRO on the socket: a peer's run of equal-sized datagrams (sent with UDP_SEGMENT) is received as one and cut
   * into the batch by the addon (native/udp_gro.c). Returns whether the kernel took it (false: datagrams one by one).
   */
  udp_set_gro(fd: number, on: boolean): boolean;
  /**
   * For tests: `data` as one received message with `control` as its control data and `flags` as its msg_flags, cut
   * in batches of `batch` slots; the datagrams in slots[i * slotSize ..], records (8 words) in `meta`; the count.
   */
  udp_gro_cut(
    data: Uint8Array,
    control: Uint8Array,
    flags: number,
    slotSize: number,
    batch: number,
    slots: Uint8Array,
    meta: Uint32Array,
  ): number;
  /** Sends `count` datagrams described by `meta`; returns how many went out (stops when the buffer is full). */
  udp_sendmmsg(fd: number, buf: Uint8Array, meta: Uint32Array, count: number): number;
  /** As tun_poll_start; record k of `meta` describes datagram k of the batch (its slot is in `offset`). */
  udp_poll_start(
    fd: number,
    buf: Uint8Array,
    meta: Uint32Array,
    slotSize: number,
    cb: (err: Error | null, count: number) => void,
  ): UdpPollHandle;
  udp_poll_stop(handle: UdpPollHandle): void;
  udp_close(fd: number): void;
}

export const UDP_META_WORDS = 8;

/** Address and route change events (native/netlink.c), for pkg/udp/address-watch.ts and
 * pkg/routing/system-route-watch.ts. */
export interface NetlinkAddon {
  /** A non-blocking NETLINK_ROUTE socket subscribed to IPv4 and IPv6 address changes and to link changes. */
  netlink_open_addr_watch(): number;
  /** One subscribed to IPv4 and IPv6 route changes (tun.use_system_route_table); rcvbuf > 0 sets its buffer size. */
  netlink_open_route_watch(rcvbuf: number): number;
  /** As tun_poll_start: one length per message in `lens` (0 when the kernel reported lost events). */
  netlink_poll_start(
    fd: number,
    buf: Uint8Array,
    lens: Uint32Array,
    slotSize: number,
    cb: (err: Error | null, count: number) => void,
  ): NetlinkPollHandle;
  netlink_poll_stop(handle: NetlinkPollHandle): void;
  netlink_close(fd: number): void;
}

/**
 * The data path's AEAD (native/aead.c) on node's own OpenSSL; pkg/noise/native-aead.ts is its only user. A context
 * holds one key; cipher 0 = AES-256-GCM, 1 = ChaCha20-Poly1305. After aead_close every call but aead_close throws
 * an Error with code EAEADCLOSED. Batch records are AEAD_META_WORDS words of a Uint32Array:
 * [adOffset, adLength, inputOffset, inputLength, outputOffset], all within `buf`.
 */
export interface AeadAddon {
  aead_create(cipher: 0 | 1, key: Uint8Array): AeadContext;
  aead_close(ctx: AeadContext): void;
  /** Writes ciphertext ‖ tag at out[outOffset..]; returns its length. RangeError for a counter outside [0, 2^53). */
  aead_seal(
    ctx: AeadContext,
    counter: number,
    ad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
    outOffset: number,
  ): number;
  /** Plaintext to out[0..]; false (out wiped) when it does not authenticate, is short or the counter is out of range. */
  aead_open(ctx: AeadContext, counter: number, ad: Uint8Array, ciphertextAndTag: Uint8Array, out: Uint8Array): boolean;
  /** Seals `count` records (input = plaintext); checks all first and throws on a bad one. Returns count. */
  aead_seal_batch(ctx: AeadContext, buf: Uint8Array, meta: Uint32Array, counters: Float64Array, count: number): number;
  /** Opens `count` records (input = ciphertext ‖ tag); ok[i] = 1 if record i authenticated. Returns how many did. */
  aead_open_batch(
    ctx: AeadContext,
    buf: Uint8Array,
    meta: Uint32Array,
    counters: Float64Array,
    count: number,
    ok: Uint8Array,
  ): number;
  /** aead_seal_batch's one record as numbers (fewer conversions in the crossing); returns plaintextLen + 16. */
  aead_seal_single(
    ctx: AeadContext,
    buf: Uint8Array,
    counter: number,
    adOffset: number,
    adLength: number,
    inputOffset: number,
    inputLength: number,
    outputOffset: number,
  ): number;
  /** aead_open_batch's one record as numbers; true if it authenticated (else its output is wiped). */
  aead_open_single(
    ctx: AeadContext,
    buf: Uint8Array,
    counter: number,
    adOffset: number,
    adLength: number,
    inputOffset: number,
    inputLength: number,
    outputOffset: number,
  ): boolean;
}

export const AEAD_META_WORDS = 5;

declare const aeadContext: unique symbol;
export type AeadContext = { readonly [aeadContext]: true };

declare const pollHandle: unique symbol;
export type TunPollHandle = { readonly [pollHandle]: 'tun' };
export type UdpPollHandle = { readonly [pollHandle]: 'udp' };
export type NetlinkPollHandle = { readonly [pollHandle]: 'netlink' };

const ADDON_PATH = join('build', 'Release', 'mesh_native.node');
// dist/pkg/native -> dist/pkg -> dist -> package root (dist/bin: two levels); one spare level.
const LEVELS_UP = 4;

type Addon = TunAddon & TunPairAddon & OffloadProbeAddon & UdpAddon & NetlinkAddon & AeadAddon;

let cached: Addon | undefined;

export function loadNativeAddon(): Addon {
  if (cached) return cached;
  const path = findAddon();
  try {
    cached = createRequire(import.meta.url)(path) as Addon;
  } catch (err) {
    throw new AddonError(`cannot load the native addon at ${path}`, { cause: err });
  }
  return cached;
}

function findAddon(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i <= LEVELS_UP; i++) {
    const candidate = join(dir, ADDON_PATH);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new AddonError(`the native addon (${ADDON_PATH}) is not built: run \`npx node-gyp rebuild\``);
}

/** The addon is not built or will not load; callers that can run without it (MemoryTun, dgram UDP) test `code`. */
export class AddonError extends Error {
  override name = 'AddonError';
  readonly code = 'EADDON';
}
