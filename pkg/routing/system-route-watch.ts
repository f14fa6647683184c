// tun.use_system_route_table (Nebula 1.7+, Linux): as well as the config's unsafe_routes, follow the
// kernel's routes through our TUN whose gateway is a VPN address, as they change. `ip route add 10.9.0.0/24 via
// 10.1.0.2 dev mesh1` makes packets for 10.9.0.0/24 go through the tunnel to 10.1.0.2 the moment the kernel
// reports the route; `ip route del` stops it. IPv6 the same (`ip -6 route add fd01::/64 via fd00::2 dev mesh1`,
// a gateway in one of our IPv6 overlay networks; docs/ipv6.md). Events, not polling: a netlink socket of the addon
// subscribed to IPv4 and IPv6 route changes (pkg/native/netlink.c), whose messages netlink-route.ts parses.
//
// The socket is opened before the TUN exists (open()), so a route added right after the device appears is queued
// by the kernel rather than missed; messages are read once the TUN's interface index is known (start()). Like
// Nebula, routes already present then are not listed (the TUN was just created, so none can name it).
//
// When the socket overflows (a routing daemon changing thousands of routes at once) the kernel drops events, so the
// learned table may miss an add or keep a deleted route. That is counted (drops{system-routes-lost}), logged once
// per minute, and repaired: we ask the kernel for all its routes of both families (one dump, answered on the same
// socket), keep those of the dump and of the events that arrive meanwhile, and drop the rest when the dump ends.
// Nebula only loses them; tun.use_system_route_table_buffer_size raises the buffer as in Nebula.

import { readFileSync, readSync, writeSync } from 'node:fs';
import { after, type Clock } from '../clock/clock.js';
import { formatIpPrefix, type IpPrefix } from '../ip/prefix.js';
import { formatVpnIp } from '../ip/vpn-ip.js';
import { guarded } from '../log/escaped-errors.js';
import type { Logger } from '../log/logger.js';
import { RateLimitedLog } from '../log/rate-limit.js';
import type { Counters } from '../metrics/counters.js';
import { loadNativeAddon, type NetlinkAddon, type NetlinkPollHandle } from '../native/addon.js';
import { dumpRequest, parseRouteMessages } from './netlink-route.js';
import { routeKey, type SystemRouteTable } from './system-routes.js';

// A route message is a few hundred bytes (more with many next hops); a longer one is cut to its slot and skipped
// by the parser, so slots hold the largest ECMP route a person would configure.
const SLOTS = 32;
const SLOT_SIZE = 8192;
const CHANGE_LOG = { burst: 100, windowMs: 10_000 };
const LOST_LOG = { burst: 1, windowMs: 60_000 };
/** How long a dump may go without an answer before it is asked for again (each answer restarts the wait). */
const DUMP_SILENCE_MS = 1000;
/** Dumps asked for in a row when each ends in an error. */
const MAX_DUMP_ATTEMPTS = 3;
/** Polls restarted in a row after a poll error with nothing read in between (see poll()). */
const MAX_FRUITLESS_POLLS = 3;

export interface SystemRouteWatchEnv {
  readonly table: SystemRouteTable;
  /** Our VPN networks (both families): a learned gateway lies in one. Read per message (a reload may change them). */
  readonly vpnNetworks: () => readonly IpPrefix[];
  readonly log: Logger;
  readonly clock: Clock;
  readonly counters: Counters;
}

export class SystemRouteWatch {
  private addon: NetlinkAddon | null = null;
  private fd = -1;
  private handle: NetlinkPollHandle | null = null;
  private tunIndex = -1;
  private readonly changeLog: RateLimitedLog;
  private readonly lostLog: RateLimitedLog;
  /**
   * The dump under way after lost events: its sequence number, the routes seen since it was asked for, whether
   * events were lost again meanwhile or the dump failed (either way it removes nothing and another follows), and
   * how many dumps in a row failed.
   */
  private resync: {
    seq: number;
    seen: Set<string>;
    lostAgain: boolean;
    failed: boolean;
    attempt: number;
    /** Events were read since the request. */
    heard: boolean;
    cancelTimer: () => void;
  } | null = null;
  private seq = 0;
  /** Sends a request on the socket (replaced by tests). */
  send: (bytes: Uint8Array) => void = (bytes) => void writeSync(this.fd, bytes);

  constructor(private readonly env: SystemRouteWatchEnv) {
    this.changeLog = new RateLimitedLog(env.log, env.clock, CHANGE_LOG);
    this.lostLog = new RateLimitedLog(env.log, env.clock, LOST_LOG);
  }

  /** Subscribes to route changes (queued until start). Throws when the addon or the socket is unavailable. */
  open(bufferSize: number): void {
    this.addon = loadNativeAddon();
    this.fd = this.addon.netlink_open_route_watch(bufferSize);
  }

  /** Follows the routes through `tunName` from now on. */
  start(tunName: string): void {
    if (this.addon === null) throw new Error('SystemRouteWatch.start before open');
    this.tunIndex = interfaceIndex(tunName);
    this.poll(Buffer.allocUnsafe(SLOTS * SLOT_SIZE), new Uint32Array(SLOTS), 0);
  }

  /** `fruitless`: polls in a row that ended in an error before delivering anything. */
  private poll(buf: Buffer, lens: Uint32Array, fruitless: number): void {
    let delivered = false;
    this.handle = this.addon!.netlink_poll_start(
      this.fd,
      buf,
      lens,
      SLOT_SIZE,
      guarded('system-routes', (err: Error | null, count: number) => {
        if (err) {
          // An overflowed netlink socket polls as an error (POLLERR, its pending ENOBUFS), which libuv reports as
          // EBADF and stops the watcher for, without reading. One read here takes the ENOBUFS off the socket (a lost
          // event: re-read the table), then polling starts again. A few times in a row without progress at most, so
          // a socket that really is broken does not spin.
          if (this.addon !== null && (delivered || fruitless < MAX_FRUITLESS_POLLS) && this.clearSocketError(buf)) {
            this.addon.netlink_poll_stop(this.handle!);
            this.poll(buf, lens, delivered ? 0 : fruitless + 1);
            return;
          }
          this.env.log.error('Route watch failed; learned routes stay as they are', { error: err.message });
          this.stop();
          return;
        }
        delivered = true;
        for (let i = 0; i < count; i++) {
          if (lens[i] === 0) this.lost();
          else this.messages(buf.subarray(i * SLOT_SIZE, i * SLOT_SIZE + lens[i]));
        }
      }),
    );
  }

  /** After a poll error: one read, which returns (and clears) the socket's pending error. False when it is fatal. */
  private clearSocketError(buf: Buffer): boolean {
    try {
      const n = readSync(this.fd, buf, 0, SLOT_SIZE, null);
      if (n > 0) this.messages(buf.subarray(0, n));
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOBUFS') this.lost();
      return code === 'ENOBUFS' || code === 'EAGAIN';
    }
  }

  /** One read from the socket (tests feed it too). */
  messages(bytes: Uint8Array): void {
    const { changes, ignored, ended, failed, interrupted, answering } = parseRouteMessages(
      bytes,
      this.tunIndex,
      this.env.vpnNetworks(),
    );
    if (this.resync !== null) {
      if (answering.includes(this.resync.seq)) this.armDumpTimer();
      else this.resync.heard = true;
    }
    for (const r of ignored) {
      this.env.log.debug('Ignoring route update', {
        route: formatIpPrefix(r.dst),
        reason: r.reason,
        via: r.gateways.map(formatVpnIp).join(','),
      });
    }
    for (const change of changes) {
      const result = this.env.table.apply(change);
      if (this.resync !== null && change.kind === 'add') this.resync.seen.add(routeKey(change));
      if (result === 'unknown' || result === 'unchanged') continue; // 'unknown': mostly routes of other devices
      const fields = {
        destination: formatIpPrefix(change.dst),
        via: change.gateways.map((g) => `${formatVpnIp(g.vpnIp)}:${g.weight}`).join(','),
        table: change.table,
        metric: change.metric,
      };
      if (result === 'full') {
        this.env.counters.inc('drops', 'system-routes-full');
        this.lostLog.write('warning', 'Learned route table full; route not followed', {
          ...fields,
          max: this.env.table.size,
        });
      } else if (change.kind === 'delete-hops' && result === 'replaced') {
        this.changeLog.info('Removing next hops of route', fields);
      } else if (result === 'added' || result === 'replaced') {
        this.changeLog.info('Adding route', fields);
      } else if (result === 'removed') {
        this.changeLog.info('Removing route', fields);
      }
    }
    if (this.resync !== null && failed.includes(this.resync.seq)) this.resync.failed = true;
    // Changed during the dump: as good as lost events (the dump may have skipped a route).
    if (this.resync !== null && interrupted.includes(this.resync.seq)) this.resync.lostAgain = true;
    if (this.resync !== null && (ended.includes(this.resync.seq) || failed.includes(this.resync.seq)))
      this.resyncEnded();
  }

  /** Events were lost (the kernel said ENOBUFS): count, and re-read the whole table. */
  lost(): void {
    this.env.counters.inc('drops', 'system-routes-lost');
    this.lostLog.write(
      'warning',
      'Route updates were lost (socket buffer full); re-reading the route table. Raise tun.use_system_route_table_buffer_size',
    );
    if (this.resync !== null) {
      this.resync.lostAgain = true;
      return;
    }
    this.requestDump(1);
  }

  private requestDump(attempt: number): void {
    this.seq = (this.seq + 1) >>> 0;
    this.resync = {
      seq: this.seq,
      seen: new Set(),
      lostAgain: false,
      failed: false,
      attempt,
      heard: false,
      cancelTimer: () => {},
    };
    this.armDumpTimer();
    try {
      this.send(dumpRequest(this.seq));
    } catch (err) {
      this.resync.cancelTimer();
      this.resync = null;
      this.env.log.warn('Could not re-read the route table', { error: String(err) });
    }
  }

  /**
   * The dump went silent without an end: the kernel's answer can itself be dropped from a full socket (a request
   * that fails with ENOBUFS, an answer saying so that finds no room), or a dump stall while the socket is full. Ask
   * again: as after lost events when events kept coming meanwhile, else as after an error.
   */
  private armDumpTimer(): void {
    const resync = this.resync!;
    resync.cancelTimer();
    resync.cancelTimer = after(
      this.env.clock,
      DUMP_SILENCE_MS,
      guarded('system-routes', () => this.dumpTimedOut(resync.seq)),
    );
  }

  private dumpTimedOut(seq: number): void {
    if (this.resync === null || this.resync.seq !== seq) return;
    if (this.resync.heard) this.resync.lostAgain = true;
    else this.resync.failed = true;
    this.resyncEnded();
  }

  private resyncEnded(): void {
    const { seen, lostAgain, failed, attempt, cancelTimer } = this.resync!;
    cancelTimer();
    this.resync = null;
    // Lost events again, or a dump overtaken by changes: read again, however often (each time is a new overflow or
    // change, so this ends with the churn).
    if (lostAgain) return this.requestDump(1);
    if (failed && attempt < MAX_DUMP_ATTEMPTS) return this.requestDump(attempt + 1);
    if (failed) {
      this.env.log.warn(
        'Could not re-read the route table consistently; learned routes may be stale until the next change',
        { attempts: attempt },
      );
      return;
    }
    for (const gone of this.env.table.retainOnly(seen)) {
      this.changeLog.info('Removing route', {
        destination: formatIpPrefix(gone.dst),
        table: gone.table,
        metric: gone.metric,
        reason: 'not in the route table any more',
      });
    }
  }

  stop(): void {
    this.resync?.cancelTimer();
    this.resync = null;
    if (this.addon === null) return;
    if (this.handle !== null) this.addon.netlink_poll_stop(this.handle);
    if (this.fd >= 0) this.addon.netlink_close(this.fd);
    this.handle = null;
    this.fd = -1;
    this.addon = null;
  }
}

function interfaceIndex(name: string): number {
  return Number.parseInt(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim(), 10);
}
