// tun.use_system_route_table (Nebula 1.7+, Linux): instead of (as well as) the config's unsafe_routes, follow the
// kernel's routes through our TUN whose gateway is a VPN address, as they change. `ip route add 10.9.0.0/24 via
// 10.1.0.2 dev mesh1` makes packets for 10.9.0.0/24 go through the tunnel to 10.1.0.2 the moment the kernel
// reports the route; `ip route del` stops it. Events, not polling: a netlink socket of the addon subscribed to IPv4
// route changes (pkg/tun/native/netlink.c), whose messages netlink-route.ts parses.
//
// The socket is opened before the TUN exists (open()), so a route added right after the device appears is queued
// by the kernel rather than missed; messages are read once the TUN's interface index is known (start()). Like
// Nebula, routes already present then are not listed (the TUN was just created, so none can name it).
//
// When the socket overflows (a routing daemon changing thousands of routes at once) the kernel drops events; that
// is counted (drops{system-routes-lost}) and logged once per minute, and tun.use_system_route_table_buffer_size
// raises the buffer as in Nebula.

import { readFileSync } from 'node:fs';
import type { Clock } from '../clock/clock.js';
import { formatCidr, formatIpv4, type Ipv4Net } from '../ip/ipv4.js';
import { guarded } from '../log/escaped-errors.js';
import type { Logger } from '../log/logger.js';
import { RateLimitedLog } from '../log/rate-limit.js';
import type { Counters } from '../metrics/counters.js';
import { loadNativeAddon, type NetlinkAddon, type NetlinkPollHandle } from '../tun/addon.js';
import { parseRouteMessages } from './netlink-route.js';
import type { SystemRouteTable } from './system-routes.js';

// A route message is a few hundred bytes (more with many next hops); a longer one is cut to its slot and skipped
// by the parser, so slots hold the largest ECMP route a person would configure.
const SLOTS = 32;
const SLOT_SIZE = 8192;
const CHANGE_LOG = { burst: 100, windowMs: 10_000 };
const LOST_LOG = { burst: 1, windowMs: 60_000 };

export interface SystemRouteWatchEnv {
  readonly table: SystemRouteTable;
  /** Our VPN network, read per message (a reload may bring a new certificate). */
  readonly vpnNet: () => Ipv4Net;
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
    const buf = Buffer.allocUnsafe(SLOTS * SLOT_SIZE);
    const lens = new Uint32Array(SLOTS);
    this.handle = this.addon.netlink_poll_start(this.fd, buf, lens, SLOT_SIZE, guarded('system-routes', (err: Error | null, count: number) => {
      if (err) {
        this.env.log.error('Route watch failed; learned routes stay as they are', { error: err.message });
        this.stop();
        return;
      }
      for (let i = 0; i < count; i++) {
        if (lens[i] === 0) this.lost();
        else this.messages(buf.subarray(i * SLOT_SIZE, i * SLOT_SIZE + lens[i]));
      }
    }));
  }

  /** One read from the socket (tests feed it too). */
  messages(bytes: Uint8Array): void {
    const { changes, ignored } = parseRouteMessages(bytes, this.tunIndex, this.env.vpnNet());
    for (const r of ignored) {
      this.env.log.debug('Ignoring route update', { route: formatCidr(r.dst), reason: r.reason, via: r.gateways.map(formatIpv4).join(',') });
    }
    for (const change of changes) {
      const result = this.env.table.apply(change);
      if (result === 'unknown') continue; // mostly routes of other devices: the kernel reports every change
      const fields = { destination: formatCidr(change.dst), via: change.gateways.map((g) => `${formatIpv4(g.vpnIp)}:${g.weight}`).join(','), table: change.table, metric: change.metric };
      if (result === 'full') {
        this.env.counters.inc('drops', 'system-routes-full');
        this.lostLog.write('warning', 'Learned route table full; route not followed', { ...fields, max: this.env.table.size });
      } else if (result === 'added' || result === 'replaced') {
        this.changeLog.info('Adding route', fields);
      } else if (result === 'removed') {
        this.changeLog.info('Removing route', fields);
      }
    }
  }

  private lost(): void {
    this.env.counters.inc('drops', 'system-routes-lost');
    this.lostLog.write('warning', 'Route updates were lost (socket buffer full); raise tun.use_system_route_table_buffer_size');
  }

  stop(): void {
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
