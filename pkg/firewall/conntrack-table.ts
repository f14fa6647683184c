// The conntrack table: flows keyed by (local IP, remote IP, local port, remote port, protocol, fragment) in
// local orientation, so a reply finds the entry its request made. Open addressing with linear probing over
// typed arrays: a lookup allocates nothing and hashes four integers with a secret-keyed hash (flow-hash.ts),
// so a peer cannot choose flows that share one probe run. Deletion shifts the following probe run back (no
// tombstones), so the table never degrades however many flows come and go.
//
// Each flow remembers its owner: the VPN address of the tunnel it was recorded for. Flows an owner opened
// toward us (created by an inbound packet) are counted per owner, and those not yet answered by a packet
// the other way are kept in a per-owner list, oldest first, threaded through the slots, so the firewall can
// hold each peer to a quota by evicting that peer's oldest unanswered flow (see docs/security-model.md).
// An owner is a VpnIp (a number, or a string for an IPv6 address): a slot stores a small integer id for it,
// handed out while the owner has flows toward us and taken back with its last one, so the ids in use never
// outnumber the inbound flows (docs/ipv6.md).
//
// A table holds one address family: IPv4 flows in two uint32 arrays, as before IPv6; an IPv6 table (family 6)
// keeps both 128-bit addresses in one array of eight words per slot, hashed byte by byte with FlowHash6, so
// IPv4 flows pay nothing for IPv6 in speed or memory. The Firewall keeps one table of each.
//
// Slots are handed out as indexes; they stay valid until the next insert or removal.

import type { VpnIp } from '../ip/vpn-ip.js';
import { FlowHash, FlowHash6 } from './flow-hash.js';
import type { FirewallPacket } from './packet.js';

const INITIAL_CAPACITY = 256;
const USED = 0x200;
const FRAGMENT = 0x100;
/** In `older`: the slot is in no unanswered list (an outbound flow, or one already answered). */
const UNLISTED = -2;
/** In `older`/`newer` and at the ends of a list: no neighbour. */
const NONE = -1;

/** An owner's inbound flows: how many, and its unanswered ones as a list from oldest to newest slot. */
interface OwnerFlows {
  readonly key: number | string;
  /** What the owner's slots store in `owner`. */
  readonly id: number;
  inbound: number;
  oldest: number;
  newest: number;
}

/** A Map key per owner: an IPv4 address as a small integer (no heap number), an IPv6 one as its text. */
function ownerKey(owner: VpnIp): number | string {
  return typeof owner === 'number' ? owner | 0 : owner;
}

export class ConntrackTable {
  private readonly hash: FlowHash;
  private readonly hash6: FlowHash6 | null;
  /** An IPv6 table: addresses in addr6, localIp/remoteIp unused (empty). */
  private readonly v6: boolean;
  private capacity = INITIAL_CAPACITY;
  private mask = INITIAL_CAPACITY - 1;
  private localIp: Uint32Array;
  private remoteIp: Uint32Array;
  /** IPv6 tables: slot i's local address in words 8i..8i+3, its remote address in 8i+4..8i+7. */
  private addr6: Uint32Array;
  /** The packet's IPv6 key gathered for hashing (local then remote), so a lookup allocates nothing. */
  private readonly key6 = new Uint32Array(8);
  /** localPort << 16 | remotePort */
  private ports = new Uint32Array(INITIAL_CAPACITY);
  /** 0 = empty slot, else USED | FRAGMENT? | protocol */
  private tag = new Uint16Array(INITIAL_CAPACITY);
  private expires = new Float64Array(INITIAL_CAPACITY);
  /** rulesVersion * 2 + (allowed as incoming ? 1 : 0) */
  private meta = new Uint32Array(INITIAL_CAPACITY);
  /** For a flow created by an inbound packet: its owner's id (OwnerFlows.id); unused for the others. */
  private owner = new Uint32Array(INITIAL_CAPACITY);
  /** Neighbours in the owner's unanswered list (slot, NONE at an end); older = UNLISTED when not in one. */
  private older = new Int32Array(INITIAL_CAPACITY).fill(UNLISTED);
  private newer = new Int32Array(INITIAL_CAPACITY);
  /** Owners with at least one inbound flow, by ownerKey. */
  private readonly owners = new Map<number | string, OwnerFlows>();
  /** The same owners by id; ids of owners gone are reused first (freeIds), so this is as long as owners ever were. */
  private ownerById: (OwnerFlows | undefined)[] = [];
  private freeIds: number[] = [];
  size = 0;

  /** Slots allocated (a power of two): what the table's memory follows, grown at half full, shrunk after sweeps. */
  get slots(): number {
    return this.capacity;
  }
  /** Flows created by an inbound packet, all owners together. */
  inboundSize = 0;
  /** No live entry expires before this (refreshes only push expiries later), so a sweep earlier is useless. */
  earliestExpiry = Infinity;

  /** `hashKey`: see FlowHash (FlowHash6 for family 6); tests pass a seeded one. */
  constructor(
    hashKey?: Uint8Array,
    readonly family: 4 | 6 = 4,
  ) {
    this.v6 = family === 6;
    this.hash = new FlowHash(this.v6 ? undefined : hashKey);
    this.hash6 = this.v6 ? new FlowHash6(hashKey) : null;
    this.localIp = new Uint32Array(this.v6 ? 0 : INITIAL_CAPACITY);
    this.remoteIp = new Uint32Array(this.v6 ? 0 : INITIAL_CAPACITY);
    this.addr6 = new Uint32Array(this.v6 ? INITIAL_CAPACITY * 8 : 0);
  }

  /** The slot holding the packet's flow, or -1. Does not look at expiry. */
  find(p: FirewallPacket): number {
    return this.v6 ? this.find6(p) : this.find4(p);
  }

  /**
   * find for an IPv4 table. The Firewall calls find4/find6 directly: a family test inside one lookup kept V8
   * from inlining it and cost the IPv4 path about 20 ns per packet (docs/ipv6.md).
   */
  find4(p: FirewallPacket): number {
    const ports = ((p.localPort << 16) | p.remotePort) >>> 0;
    const tag = USED | (p.fragment ? FRAGMENT : 0) | p.protocol;
    let i = this.hash.of(p.localIp, p.remoteIp, ports, tag) & this.mask;
    for (;;) {
      const t = this.tag[i];
      if (t === 0) return -1;
      if (t === tag && this.localIp[i] === p.localIp && this.remoteIp[i] === p.remoteIp && this.ports[i] === ports) {
        return i;
      }
      i = (i + 1) & this.mask;
    }
  }

  /** How many slots `find(p)` reads: what a lookup costs. For tests and the bench. */
  probeLength(p: FirewallPacket): number {
    const found = this.find(p);
    const ports = ((p.localPort << 16) | p.remotePort) >>> 0;
    const tag = USED | (p.fragment ? FRAGMENT : 0) | p.protocol;
    const home = this.homeOfPacket(p, ports, tag);
    let end = found;
    if (end < 0) for (end = home; this.tag[end] !== 0;) end = (end + 1) & this.mask;
    return ((end - home) & this.mask) + 1;
  }

  /**
   * Adds a flow that `find` just reported absent, recorded for the tunnel whose VPN address is `owner`. A flow
   * created by an inbound packet counts toward its owner and stays unanswered until `markAnswered`.
   */
  insert(p: FirewallPacket, expires: number, incoming: boolean, rulesVersion: number, owner: VpnIp): void {
    if ((this.size + 1) * 2 > this.capacity) this.resize(this.capacity * 2);
    const ports = ((p.localPort << 16) | p.remotePort) >>> 0;
    const tag = USED | (p.fragment ? FRAGMENT : 0) | p.protocol;
    let i = this.homeOfPacket(p, ports, tag);
    while (this.tag[i] !== 0) i = (i + 1) & this.mask;
    if (this.v6) this.addr6.set(this.key6, i * 8);
    else {
      this.localIp[i] = p.localIp;
      this.remoteIp[i] = p.remoteIp;
    }
    this.ports[i] = ports;
    this.tag[i] = tag;
    this.expires[i] = expires;
    this.meta[i] = rulesVersion * 2 + (incoming ? 1 : 0);
    this.owner[i] = 0;
    this.older[i] = UNLISTED;
    this.size++;
    if (expires < this.earliestExpiry) this.earliestExpiry = expires;
    if (incoming) this.addInbound(i, owner);
  }

  expiresAt(slot: number): number {
    return this.expires[slot];
  }

  refresh(slot: number, expires: number): void {
    this.expires[slot] = expires;
  }

  rulesVersionAt(slot: number): number {
    return this.meta[slot] >>> 1;
  }

  incomingAt(slot: number): boolean {
    return (this.meta[slot] & 1) === 1;
  }

  setRulesVersion(slot: number, rulesVersion: number): void {
    this.meta[slot] = rulesVersion * 2 + (this.meta[slot] & 1);
  }

  /** A packet went the other way on this flow: it is no longer a candidate for eviction. */
  markAnswered(slot: number): void {
    if (this.older[slot] !== UNLISTED) this.unlist(slot);
  }

  /** Flows `owner` opened toward us (created by an inbound packet), answered or not. */
  inboundFlowsOf(owner: VpnIp): number {
    return this.owners.get(ownerKey(owner))?.inbound ?? 0;
  }

  /** Owners holding flows toward us (each has an id); for the bound tests. */
  get ownerCount(): number {
    return this.owners.size;
  }

  /** Ids ever handed out at once: never more than the most owners that held flows together. */
  get ownerIdsAllocated(): number {
    return this.ownerById.length;
  }

  /** The slot of `owner`'s oldest flow toward us that was never answered, or -1. */
  oldestUnansweredOf(owner: VpnIp): number {
    return this.owners.get(ownerKey(owner))?.oldest ?? NONE;
  }

  removeAt(slot: number): void {
    if ((this.meta[slot] & 1) === 1) this.removeInbound(slot);
    const mask = this.mask;
    let hole = slot;
    let j = slot;
    for (;;) {
      j = (j + 1) & mask;
      if (this.tag[j] === 0) break;
      const home = this.homeOf(j);
      // The entry at j may fill the hole only if its home is not cyclically within (hole, j].
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      this.moveSlot(j, hole);
      hole = j;
    }
    this.tag[hole] = 0;
    this.older[hole] = UNLISTED;
    this.size--;
  }

  /** Removes every entry that expired at or before `now`; returns how many. */
  sweep(now: number): number {
    let removed = 0;
    let earliest = Infinity;
    for (let i = 0; i < this.capacity;) {
      if (this.tag[i] !== 0 && this.expires[i] <= now) {
        // The shift may pull a later entry into slot i: look at i again.
        this.removeAt(i);
        removed++;
        continue;
      }
      if (this.tag[i] !== 0 && this.expires[i] < earliest) earliest = this.expires[i];
      i++;
    }
    this.earliestExpiry = earliest;
    if (this.capacity > INITIAL_CAPACITY && this.size * 8 < this.capacity) {
      this.resize(Math.max(INITIAL_CAPACITY, nextPowerOfTwo(this.size * 4)));
    }
    return removed;
  }

  clear(): void {
    this.tag.fill(0);
    this.older.fill(UNLISTED);
    this.owners.clear();
    this.ownerById = [];
    this.freeIds = [];
    this.size = 0;
    this.inboundSize = 0;
    this.earliestExpiry = Infinity;
  }

  private addInbound(slot: number, owner: VpnIp): void {
    const key = ownerKey(owner);
    let flows = this.owners.get(key);
    if (flows === undefined) {
      const id = this.freeIds.length > 0 ? this.freeIds.pop()! : this.ownerById.length;
      flows = { key, id, inbound: 0, oldest: NONE, newest: NONE };
      this.owners.set(key, flows);
      this.ownerById[id] = flows;
    }
    this.owner[slot] = flows.id;
    flows.inbound++;
    this.inboundSize++;
    this.older[slot] = flows.newest;
    this.newer[slot] = NONE;
    if (flows.newest === NONE) flows.oldest = slot;
    else this.newer[flows.newest] = slot;
    flows.newest = slot;
  }

  private removeInbound(slot: number): void {
    if (this.older[slot] !== UNLISTED) this.unlist(slot);
    const flows = this.ownerById[this.owner[slot]]!;
    if (--flows.inbound === 0) {
      this.owners.delete(flows.key);
      this.ownerById[flows.id] = undefined;
      this.freeIds.push(flows.id);
    }
    this.inboundSize--;
  }

  private unlist(slot: number): void {
    const flows = this.ownerById[this.owner[slot]]!;
    const older = this.older[slot];
    const newer = this.newer[slot];
    if (older === NONE) flows.oldest = newer;
    else this.newer[older] = newer;
    if (newer === NONE) flows.newest = older;
    else this.older[newer] = older;
    this.older[slot] = UNLISTED;
  }

  private homeOf(i: number): number {
    if (this.v6) return this.hash6!.of(this.addr6, i * 8, this.ports[i], this.tag[i]) & this.mask;
    return this.hash.of(this.localIp[i], this.remoteIp[i], this.ports[i], this.tag[i]) & this.mask;
  }

  /** The home slot of the packet's flow; for IPv6 it also gathers the packet's key into key6. */
  private homeOfPacket(p: FirewallPacket, ports: number, tag: number): number {
    if (!this.v6) return this.hash.of(p.localIp, p.remoteIp, ports, tag) & this.mask;
    // Element by element: TypedArray.set costs more than the whole hash here.
    const k = this.key6;
    const l = p.local6!;
    const r = p.remote6!;
    k[0] = l[0];
    k[1] = l[1];
    k[2] = l[2];
    k[3] = l[3];
    k[4] = r[0];
    k[5] = r[1];
    k[6] = r[2];
    k[7] = r[3];
    return this.hash6!.of(k, 0, ports, tag) & this.mask;
  }

  /** find for an IPv6 table. */
  find6(p: FirewallPacket): number {
    const ports = ((p.localPort << 16) | p.remotePort) >>> 0;
    const tag = USED | (p.fragment ? FRAGMENT : 0) | p.protocol;
    let i = this.homeOfPacket(p, ports, tag);
    const k = this.key6;
    const a = this.addr6;
    for (;;) {
      const t = this.tag[i];
      if (t === 0) return -1;
      const at = i * 8;
      if (
        t === tag &&
        this.ports[i] === ports &&
        a[at] === k[0] &&
        a[at + 1] === k[1] &&
        a[at + 2] === k[2] &&
        a[at + 3] === k[3] &&
        a[at + 4] === k[4] &&
        a[at + 5] === k[5] &&
        a[at + 6] === k[6] &&
        a[at + 7] === k[7]
      ) {
        return i;
      }
      i = (i + 1) & this.mask;
    }
  }

  private moveSlot(from: number, to: number): void {
    if (this.v6) this.addr6.copyWithin(to * 8, from * 8, from * 8 + 8);
    else {
      this.localIp[to] = this.localIp[from];
      this.remoteIp[to] = this.remoteIp[from];
    }
    this.ports[to] = this.ports[from];
    this.tag[to] = this.tag[from];
    this.expires[to] = this.expires[from];
    this.meta[to] = this.meta[from];
    this.owner[to] = this.owner[from];
    const older = this.older[from];
    const newer = this.newer[from];
    this.older[to] = older;
    this.newer[to] = newer;
    if (older === UNLISTED) return;
    // Its neighbours (or the owner's list ends) pointed at `from`.
    const flows = older === NONE || newer === NONE ? this.ownerById[this.owner[from]]! : undefined;
    if (older === NONE) flows!.oldest = to;
    else this.newer[older] = to;
    if (newer === NONE) flows!.newest = to;
    else this.older[newer] = to;
  }

  private resize(capacity: number): void {
    const old = {
      localIp: this.localIp,
      remoteIp: this.remoteIp,
      addr6: this.addr6,
      ports: this.ports,
      tag: this.tag,
      expires: this.expires,
      meta: this.meta,
      owner: this.owner,
      older: this.older,
      newer: this.newer,
    };
    const oldCapacity = this.capacity;
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.localIp = new Uint32Array(this.v6 ? 0 : capacity);
    this.remoteIp = new Uint32Array(this.v6 ? 0 : capacity);
    this.addr6 = new Uint32Array(this.v6 ? capacity * 8 : 0);
    this.ports = new Uint32Array(capacity);
    this.tag = new Uint16Array(capacity);
    this.expires = new Float64Array(capacity);
    this.meta = new Uint32Array(capacity);
    this.owner = new Uint32Array(capacity);
    this.older = new Int32Array(capacity).fill(UNLISTED);
    this.newer = new Int32Array(capacity);
    const movedTo = new Int32Array(oldCapacity);
    for (let from = 0; from < oldCapacity; from++) {
      if (old.tag[from] === 0) continue;
      let i = this.v6
        ? this.hash6!.of(old.addr6, from * 8, old.ports[from], old.tag[from]) & this.mask
        : this.hash.of(old.localIp[from], old.remoteIp[from], old.ports[from], old.tag[from]) & this.mask;
      while (this.tag[i] !== 0) i = (i + 1) & this.mask;
      movedTo[from] = i;
      if (this.v6) this.addr6.set(old.addr6.subarray(from * 8, from * 8 + 8), i * 8);
      else {
        this.localIp[i] = old.localIp[from];
        this.remoteIp[i] = old.remoteIp[from];
      }
      this.ports[i] = old.ports[from];
      this.tag[i] = old.tag[from];
      this.expires[i] = old.expires[from];
      this.meta[i] = old.meta[from];
      this.owner[i] = old.owner[from];
    }
    // The unanswered lists, rethreaded through the new slots.
    for (let from = 0; from < oldCapacity; from++) {
      const older = old.older[from];
      if (old.tag[from] === 0 || older === UNLISTED) continue;
      const newer = old.newer[from];
      this.older[movedTo[from]] = older === NONE ? NONE : movedTo[older];
      this.newer[movedTo[from]] = newer === NONE ? NONE : movedTo[newer];
    }
    for (const flows of this.owners.values()) {
      if (flows.oldest !== NONE) flows.oldest = movedTo[flows.oldest];
      if (flows.newest !== NONE) flows.newest = movedTo[flows.newest];
    }
  }
}

function nextPowerOfTwo(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}
