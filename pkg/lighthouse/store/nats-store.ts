// The lighthouse tier on NATS JetStream (docs/lighthouse-tier.md).
//
//   bucket `lighthouse.store.bucket` (a JetStream KV, history 1, max_age = ttl): one record per host, written by
//     the lighthouse serving it (record.ts): when its update changes it, and again every ttl/3 while its tunnel
//     lives; deleted (only if still ours: a compare on our last revision) when its tunnel closes.
//   watch on the bucket: the records of the other lighthouses, validated, in a local cache bounded at
//     MAX_REMOTE_HOSTS; lookups answer from the cache and refuse a record older than ttl by its write time (the
//     server's max_age removes it from the bucket, but tells no watcher).
//   subject mesh.lh.<id>.punch: punch requests for the hosts this lighthouse serves.
//
// NATS unreachable: lookups keep answering from the cache until its records age out, our own hosts are served as
// ever (the server never waits for the store), one warning is logged; when NATS returns, the bucket is re-created
// if it is gone, every served host re-written (on the same bucket: only what changed or is due), the watch restarted,
// and one line says so once the watch is set up. A watch that fails or a bucket lost again re-syncs with a backoff
// (RESYNC_BACKOFF_MAX_MS), so a NATS-side fault (a user denied consumer creation) costs a few requests a minute, not
// every served host re-written every second. While only the watch is down (connected, the bucket there) our records
// are still written and refreshed on their own timer: a backoff longer than the TTL does not age them out of the
// bucket between re-syncs.

import { unixMs, after, type Clock } from '../../clock/clock.js';
import type { NatsStoreConfig } from '../../config/section-lighthouse-store.js';
import type { VpnIp } from '../../ip/vpn-ip.js';
import type { Logger } from '../../log/logger.js';
import type { Counters } from '../../metrics/counters.js';
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  decodePunch,
  decodeRecord,
  encodePunch,
  encodeRecord,
  keyOf,
  LIGHTHOUSE_ID,
  MAX_RECORD_BYTES,
} from './record.js';
import { createBucket } from './bucket-create.js';
import { bucketDifferences, type BucketSettings } from './bucket-settings.js';
import { BucketWatch } from './bucket-watch.js';
import { refreshDue, refreshTickMs, writtenAt } from './refresh-spread.js';
import { RemoteCache } from './remote-cache.js';
import type { LighthouseStore, PunchRequest, RemoteHost, ServedHost, StoreOwner } from './store.js';

/**
 * Records of other lighthouses kept at most, by count and by estimated heap (remote-cache.ts recordCost); a record
 * beyond either is dropped (and counted). A dual-stack host takes two records (one per address). 96 MiB holds
 * 65536 typical records, or ~10000 of the largest a record may be (the count alone allowed ~640 MB).
 */
export const MAX_REMOTE_HOSTS = 65_536;
export const MAX_REMOTE_BYTES = 96 * 1024 * 1024;
/** Between attempts to set up the bucket while connected (a JetStream not ready yet after a server restart). */
export const SYNC_RETRY_MS = 1000;
/**
 * A re-sync after the watch ended or the bucket was lost waits SYNC_RETRY_MS, doubled for each one that follows up
 * to this; reset once a watch delivered an entry or ran WATCH_HEALTHY_MS.
 */
export const RESYNC_BACKOFF_MAX_MS = 60_000;
export const WATCH_HEALTHY_MS = 60_000;
/** A lighthouse started while NATS is away says so after this long. */
export const FIRST_CONNECT_WARNING_MS = 3000;
/** How long a stopping lighthouse waits for NATS to take its last withdrawals. */
export const CLOSE_FLUSH_MS = 500;
/** Puts waiting for their acknowledgement at most. */
export const MAX_PUTS_IN_FLIGHT = 64;

export function punchSubject(id: string): string {
  return `mesh.lh.${id}.punch`;
}

export interface NatsStoreEnv {
  config: NatsStoreConfig;
  /** This lighthouse's id in the tier (record.ts LIGHTHOUSE_ID). */
  id: string;
  clock: Clock;
  log: Logger;
  counters: Counters;
  /** Default MAX_REMOTE_HOSTS (smaller in tests). */
  maxRemoteHosts?: number;
  /** Default MAX_REMOTE_BYTES (smaller in tests). */
  maxRemoteBytes?: number;
  /** The refresh jitter's source (refresh-spread.ts); Math.random by default, seeded in tests. */
  random?: () => number;
}

/** What we last wrote for a key: one object per key while we serve the host, updated in place by every write. */
interface Written {
  /** The record without its time: a write that would change nothing but the time waits for the refresh. */
  content: string;
  at: number;
  /** The revision our last acknowledged put got; 0 until one is. */
  revision: number;
  /** A put of this key is in flight: a withdrawal waits for its revision (a delete with none deletes anything). */
  putting: boolean;
  /** Withdrawn while its put was in flight: the put's completion deletes the record it just wrote. */
  withdrawn: boolean;
}

/** JetStream's "wrong last sequence": the key was written since our revision, by us or another lighthouse. */
const WRONG_LAST_SEQUENCE = 10071;

export class NatsStore implements LighthouseStore {
  readonly kind = 'nats';
  readonly publishes = true;
  private owner: StoreOwner | null = null;
  private nc: NatsConnection | null = null;
  private kv: KV | null = null;
  private readonly watcher: BucketWatch;
  private readonly cache: RemoteCache;
  private readonly written = new Map<string, Written>();
  /** The bucket is set up and watched: the tier works (`online`). */
  private reachable = false;
  /**
   * Puts go to `kv`: from a sync until the connection or the bucket goes. A watch that ended alone leaves it, so our
   * records are written and refreshed while its re-sync waits for its backoff.
   */
  private writable = false;
  /** Whether the outage was logged: once per outage. */
  private downLogged = false;
  private closed = false;
  private syncing = false;
  private everSynced = false;
  private sweptAt = -Infinity;
  /** The differences of the bucket's settings from ours last warned about: warned again only when they change. */
  private warnedSettings = '';
  /** The settings we create the bucket with. */
  private readonly wanted: BucketSettings;
  /** When the bucket we synced with was created (JetStream's stream info): another time means another bucket. */
  private bucketCreated: string | null = null;
  /** The wait before the next re-sync after a watch ended or a bucket was lost (resyncLater). */
  private resyncDelayMs = SYNC_RETRY_MS;
  /** When (clock.now()) the current watch was started. */
  private watchStartedAt = -Infinity;
  /** Served hosts at the last sync, for the line that says the tier is back. */
  private syncedHosts = 0;
  /** Records waiting for a put (pump), by key: a newer version of a queued host replaces the older. */
  private readonly queued = new Map<string, ServedHost>();
  private inFlight = 0;
  /** The refresh tick and the next re-sync: two timers, so a re-sync waiting for its backoff stops no refresh. */
  private cancelRefresh: (() => void) | null = null;
  private cancelResync: (() => void) | null = null;
  private readonly ttl: number;

  constructor(private readonly env: NatsStoreEnv) {
    this.ttl = env.config.ttlMs;
    this.wanted = { ttlMs: this.ttl, history: 1, maxValueSize: MAX_RECORD_BYTES };
    this.cache = new RemoteCache(
      (host) => this.fresh(host),
      env.maxRemoteHosts ?? MAX_REMOTE_HOSTS,
      env.maxRemoteBytes ?? MAX_REMOTE_BYTES,
    );
    this.watcher = new BucketWatch({
      watching: () => this.watchSetUp(),
      entry: (e) => {
        this.resyncDelayMs = SYNC_RETRY_MS; // a watch that delivers works: the next fault starts the backoff afresh
        this.onEntry(e);
      },
      // Nothing watches the bucket any more (its consumer gone, or a bucket deleted under us): down until a re-sync
      // sets the bucket and the watch up again.
      ended: (why) => {
        this.env.counters.inc('lighthouse', 'tier-watch-ended');
        this.watchDown(why);
        this.resyncLater();
      },
    });
  }

  attach(owner: StoreOwner): void {
    this.owner = owner;
    void this.connect();
  }

  /** Whether the bucket is reachable now (for status and tests). */
  get online(): boolean {
    return this.reachable;
  }

  changed(host: ServedHost): void {
    if (this.writable) this.write(host, false);
  }

  withdraw(vpnIp: VpnIp): void {
    const key = keyOf(vpnIp);
    const mine = this.written.get(key);
    this.written.delete(key);
    this.queued.delete(key);
    if (!mine) return;
    mine.withdrawn = true;
    // A put in flight: its completion deletes with the revision it returns (pump), so neither an unconditional
    // delete nor a record landing after the delete.
    if (!mine.putting && this.kv) this.deleteOurs(this.kv, key, mine.revision);
  }

  /** Deletes `key` only if its last write is still our `revision`: a host that moved on keeps its new record. */
  private deleteOurs(kv: KV, key: string, revision: number): void {
    // Never revision 0: nats.js then sends no condition at all and would delete another lighthouse's record.
    if (revision === 0 || !this.writable || this.kv !== kv) return;
    kv.delete(key, { previousSeq: revision }).then(
      () => this.env.counters.inc('lighthouse', 'tier-withdraw'),
      (err: unknown) =>
        this.env.counters.inc(
          'lighthouse',
          (err as { code?: unknown }).code === WRONG_LAST_SEQUENCE
            ? 'tier-withdraw-superseded'
            : 'tier-withdraw-failed',
        ),
    );
  }

  lookup(vpnIp: VpnIp): RemoteHost | undefined {
    const key = keyOf(vpnIp);
    const host = this.cache.get(key);
    if (!host) return undefined;
    if (!this.fresh(host)) {
      this.cache.delete(key);
      return undefined;
    }
    return host;
  }

  remoteHosts(): Iterable<RemoteHost> {
    return this.cache.values();
  }

  remoteHostsNamed(name: string): Iterable<RemoteHost> {
    return this.cache.named(name);
  }

  requestPunch(servedBy: string, request: PunchRequest): void {
    // Not queued while NATS is away: a punch is only worth it now, and the client re-sends its query anyway.
    if (!this.nc || !this.reachable || !LIGHTHOUSE_ID.test(servedBy))
      return this.env.counters.inc('drops', 'lighthouse-tier-punch-unsent');
    try {
      this.nc.publish(punchSubject(servedBy), encodePunch(request));
    } catch {
      // A connection closing under us: the contract says a store call never throws into the query path.
      this.env.counters.inc('drops', 'lighthouse-tier-punch-unsent');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelRefresh?.();
    this.cancelResync?.();
    this.watcher.stop();
    const nc = this.nc;
    this.nc = null;
    this.reachable = false;
    this.writable = false;
    if (!nc) return;
    // The withdrawals of the tunnels just closed are on their way: a flush (bounded) lets the server see them.
    await Promise.race([nc.flush().catch(() => {}), new Promise((r) => setTimeout(r, CLOSE_FLUSH_MS))]);
    await nc.close().catch(() => {});
  }

  private async connect(): Promise<void> {
    const { config, id } = this.env;
    // connect() keeps trying until a server answers: the outage is logged (once) meanwhile.
    const cancelWarning = after(this.env.clock, FIRST_CONNECT_WARNING_MS, () =>
      this.wentDown(`no NATS server answered within ${FIRST_CONNECT_WARNING_MS} ms`),
    );
    try {
      const { connect } = await import('./nats-client.js');
      const nc = await connect({
        servers: config.servers,
        name: `mesh-lighthouse-${id}`,
        ...(config.user !== undefined ? { user: config.user } : {}),
        ...(config.password !== undefined ? { pass: config.password } : {}),
        ...(config.token !== undefined ? { token: config.token } : {}),
        ...(config.tls ? { tls: { caFile: config.tls.ca, certFile: config.tls.cert, keyFile: config.tls.key } } : {}),
        // Forever, from the first attempt on: a lighthouse starts and serves its own hosts whether NATS is up or not.
        waitOnFirstConnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        pingInterval: 2000,
        maxPingOut: 2,
      });
      cancelWarning();
      if (this.closed) return void nc.close();
      this.nc = nc;
      nc.subscribe(punchSubject(id), { callback: (err, msg) => void (err ? undefined : this.onPunch(msg.data)) });
      void this.followStatus(nc);
      await this.sync();
    } catch (err) {
      this.wentDown(err);
    }
  }

  private async followStatus(nc: NatsConnection): Promise<void> {
    try {
      for await (const s of nc.status()) {
        if (this.closed) return;
        if (s.type === 'disconnect' || s.type === 'staleConnection') this.wentDown(s.type);
        else if (s.type === 'reconnect') void this.sync();
      }
    } catch (err) {
      this.wentDown(err);
    }
  }

  /** (Re)creates the bucket, re-writes every served host, restarts the watch: after a start and after an outage. */
  private async sync(): Promise<void> {
    if (this.syncing || this.closed || !this.nc) return;
    this.syncing = true;
    try {
      const { jetstream, Kvm } = await import('./nats-client.js');
      const { wanted } = this;
      // An existing bucket is taken as it is: checked (checkBucket), never changed. One another lighthouse creates
      // at the same moment is opened (bucket-create.ts).
      const kvm = new Kvm(jetstream(this.nc, { timeout: 2000 }));
      const kv = await createBucket(() =>
        kvm.create(this.env.config.bucket, {
          ttl: wanted.ttlMs,
          history: wanted.history,
          maxValueSize: wanted.maxValueSize,
        }),
      );
      const found = await kv.status();
      if (this.closed) return;
      // The bucket we wrote into before still holds what we wrote within ttl/3: only what changed or is due is
      // written again. Another bucket (created anew, NATS restarted without its store) gets every record.
      const sameBucket = this.bucketCreated !== null && found.streamInfo.created === this.bucketCreated;
      this.kv = kv;
      this.bucketCreated = found.streamInfo.created;
      this.checkSettings(wanted, { ttlMs: found.ttl, history: found.history, maxValueSize: found.maxValueSize });
      if (!sameBucket) {
        this.written.clear();
        this.queued.clear(); // puts still in flight on the old handle settle on their own
      }
      this.reachable = true;
      this.writable = true;
      this.cancelResync?.(); // this sync is the one it waited for
      const served = this.owner?.served() ?? [];
      this.syncedHosts = served.length;
      for (const host of served) this.write(host, !sameBucket);
      this.pump(kv); // what was queued for the old handle goes through this one
      this.watchStartedAt = this.env.clock.now();
      this.watcher.start(kv);
      this.scheduleRefresh();
    } catch (err) {
      this.wentDown(err);
      this.retrySync();
    } finally {
      this.syncing = false;
    }
  }

  /**
   * Whether `kv` is still the bucket we synced with, and its settings: at a sync and at every refresh tick. Deleted
   * (and perhaps created again by another lighthouse), our watch would never say so: nats.js re-creates its consumer
   * from the old stream's sequence, so it takes nothing of the new bucket (measured: nothing within 40 s). Another
   * bucket, or none, is a re-sync, which starts the watch from scratch.
   */
  private checkBucket(kv: KV): void {
    kv.status().then(
      (found) => {
        if (this.kv !== kv || !this.reachable) return;
        const created = found.streamInfo.created;
        if (this.bucketCreated !== null && created !== this.bucketCreated) return this.bucketLost('bucket replaced');
        this.bucketCreated = created;
        this.checkSettings(this.wanted, {
          ttlMs: found.ttl,
          history: found.history,
          maxValueSize: found.maxValueSize,
        });
      },
      (err: unknown) => {
        // Other failures (a timeout, the connection going) are the status events' business.
        if (this.kv === kv && this.reachable && (err as { name?: unknown }).name === 'StreamNotFoundError')
          this.bucketLost(err);
      },
    );
  }

  private bucketLost(why: unknown): void {
    this.env.counters.inc('lighthouse', 'tier-bucket-lost');
    this.wentDown(why);
    this.resyncLater();
  }

  /** The watch of the last sync is set up: the tier works again, and the line saying so is logged now, not before. */
  private watchSetUp(): void {
    if (this.downLogged)
      this.env.log.info('Lighthouse tier store reachable again, re-synced', { hosts: this.syncedHosts });
    else if (!this.everSynced)
      this.env.log.info('Lighthouse tier store connected', { bucket: this.env.config.bucket, id: this.env.id });
    this.everSynced = true;
    this.downLogged = false;
  }

  /**
   * A re-sync after the watch ended or the bucket was lost, with a backoff: a fault that recurs at once (a consumer
   * NATS refuses to create) would otherwise re-sync every SYNC_RETRY_MS for as long as it lasts.
   */
  private resyncLater(): void {
    if (this.env.clock.now() - this.watchStartedAt >= WATCH_HEALTHY_MS) this.resyncDelayMs = SYNC_RETRY_MS;
    const delay = this.resyncDelayMs;
    this.resyncDelayMs = Math.min(2 * delay, RESYNC_BACKOFF_MAX_MS);
    this.retrySync(delay);
  }

  private checkSettings(wanted: BucketSettings, found: BucketSettings): void {
    const differences = bucketDifferences(this.env.config.bucket, wanted, found);
    const text = differences.join('; ');
    if (text === this.warnedSettings || this.closed) return;
    this.warnedSettings = text;
    if (text === '') return;
    this.env.counters.inc('lighthouse', 'tier-bucket-settings-differ');
    this.env.log.warn('Lighthouse tier bucket exists with other settings, using it unchanged', { differences: text });
  }

  /** A sync again in `ms` while the connection lives (it also reconnects on its own, and syncs then). */
  private retrySync(ms = SYNC_RETRY_MS): void {
    this.cancelResync?.();
    this.cancelResync = null;
    if (!this.closed && this.nc && !this.nc.isClosed())
      this.cancelResync = after(this.env.clock, ms, () => void this.sync());
  }

  /** The connection or the bucket is gone: nothing is written or watched until a sync sets them up again. */
  private wentDown(why: unknown): void {
    this.writable = false;
    this.watchDown(why);
  }

  /** The watch is gone (or everything is: wentDown); puts go on while `writable`. Logged once per outage. */
  private watchDown(why: unknown): void {
    this.reachable = false;
    if (this.closed || this.downLogged) return;
    this.downLogged = true;
    this.env.log.warn('Lighthouse tier store unreachable, serving own hosts only', {
      error: why instanceof Error ? why.message : String(why),
    });
  }

  private write(host: ServedHost, force: boolean): void {
    const kv = this.kv;
    if (!kv) return;
    const key = keyOf(host.vpnIp);
    const content = Buffer.from(encodeRecord(host, this.env.id, 0)).toString();
    const now = unixMs(this.env.clock);
    const last = this.written.get(key);
    if (!force && last && last.content === content && now - last.at < this.ttl / 3) return;
    const at = writtenAt(now, this.ttl, this.env.random ?? Math.random);
    if (last) {
      last.content = content;
      last.at = at;
    } else this.written.set(key, { content, at, revision: 0, putting: false, withdrawn: false });
    this.queued.set(key, host);
    this.pump(kv);
  }

  /**
   * Puts the queued records, at most MAX_PUTS_IN_FLIGHT at a time: a re-sync of thousands of hosts fired at once
   * stalls the client (10000 puts: none acknowledged within two minutes); queued, they flow at the server's pace.
   */
  private pump(kv: KV): void {
    if (this.kv !== kv) return;
    for (const [key, host] of this.queued) {
      if (this.inFlight >= MAX_PUTS_IN_FLIGHT) return;
      const mark = this.written.get(key);
      if (!mark) {
        this.queued.delete(key); // withdrawn meanwhile
        continue;
      }
      // One put per key at a time, so the revision a withdrawal deletes with is the last one: this one waits for
      // the pump that the put in flight runs when it completes (at most MAX_PUTS_IN_FLIGHT keys are skipped).
      if (mark.putting) continue;
      this.queued.delete(key);
      this.inFlight++;
      mark.putting = true;
      kv.put(key, encodeRecord(host, this.env.id, unixMs(this.env.clock)))
        .then(
          (revision) => {
            mark.revision = revision;
            this.env.counters.inc('lighthouse', 'tier-write');
          },
          () => {
            // Not written: the next change or refresh tries again (the revision stays the last one acknowledged).
            mark.content = '';
            this.env.counters.inc('lighthouse', 'tier-write-failed');
          },
        )
        .finally(() => {
          mark.putting = false;
          this.inFlight--;
          if (mark.withdrawn) this.deleteOurs(kv, key, mark.revision);
          this.pump(kv);
        });
    }
  }

  /**
   * Each served host is re-written within ttl/3 (plus one tick) of its last write, so a live host's record never
   * reaches max_age; a tick writes only the records due, whose times are spread by writtenAt's jitter
   * (refresh-spread.ts), instead of every record in one turn.
   */
  private scheduleRefresh(): void {
    this.cancelRefresh?.();
    this.cancelRefresh = this.closed
      ? null
      : after(this.env.clock, refreshTickMs(this.ttl), () => {
          if (this.writable && this.kv) {
            // While the watch is down its re-sync is pending, and checks the bucket itself.
            if (this.reachable) this.checkBucket(this.kv);
            const now = unixMs(this.env.clock);
            for (const host of this.owner?.served() ?? []) {
              const last = this.written.get(keyOf(host.vpnIp));
              if (!last || refreshDue(last.at, now, this.ttl)) this.write(host, false);
            }
          }
          this.sweep();
          this.scheduleRefresh();
        });
  }

  /** Drops the records older than the TTL: the server's max_age removes them from the bucket without a word. */
  private sweep(): void {
    this.cache.sweep();
  }

  private onEntry(e: KvWatchEntry): void {
    if (e.operation !== 'PUT') return void this.cache.delete(e.key);
    let host: RemoteHost;
    try {
      host = decodeRecord(e.key, e.value);
    } catch {
      // With history 1 the bucket no longer holds what we cached for this key: it goes too.
      this.cache.delete(e.key);
      return this.env.counters.inc('drops', 'lighthouse-tier-invalid');
    }
    if (host.servedBy === this.env.id) return void this.cache.delete(e.key);
    if (!this.fresh(host)) return this.env.counters.inc('drops', 'lighthouse-tier-stale');
    if (!this.cache.fits(e.key, host)) {
      // Full: make room from what aged out, but sweep at most once a second (a sweep walks the whole cache).
      const now = this.env.clock.now();
      if (now - this.sweptAt >= 1000) {
        this.sweptAt = now;
        this.sweep();
      }
      if (!this.cache.fits(e.key, host)) {
        this.cache.delete(e.key); // what it replaced is no longer in the bucket: not served either
        return this.env.counters.inc('drops', 'lighthouse-tier-full');
      }
    }
    this.cache.set(e.key, host);
  }

  private onPunch(data: Uint8Array): void {
    let request: PunchRequest;
    try {
      request = decodePunch(data);
    } catch {
      return this.env.counters.inc('drops', 'lighthouse-tier-invalid');
    }
    // nats-core calls us without a try, from its socket parser: a throw must stop here.
    try {
      this.owner?.punchRequested(request);
    } catch {
      this.env.counters.inc('drops', 'lighthouse-tier-punch-failed');
    }
  }

  /** Written within the TTL, and not in the future by more than one (clocks of the tier roughly in step). */
  private fresh(host: RemoteHost): boolean {
    const age = unixMs(this.env.clock) - host.writtenAt;
    return age <= this.ttl && age >= -this.ttl;
  }
}
