// Notices when this host's underlay addresses change (a laptop moving from WiFi to 4G): a netlink socket in the
// addon (pkg/native/netlink.c), or `ip -o monitor address link` without the addon, reports address and link events
// the moment they happen (link events because a carrier lost or regained takes an interface's addresses out of, or
// back into, the snapshot with no address event: node lists only interfaces that are up and running), and a poll
// covers systems with neither (every 2 s) and, as a backstop, those with one (every minute: each look at the
// interfaces costs ~0.2 ms of CPU and a wake-up of an idle daemon). Each event is
// checked against the address set the caller reports (`snapshot`), so routine netlink noise (IPv6 lifetime
// refreshes after a router advertisement, our own TUN coming up, addresses outside local_allow_list) is not a
// move. `onLost` fires at once when an address we had is gone (callers hold traffic before a route even exists);
// `onChange` fires after a short debounce with the settled set, saying whether any earlier address is missing
// from it (a move) or the set only grew (a new interface: the current paths still work).

import { spawn, type ChildProcess } from 'node:child_process';
import { guarded } from '../log/escaped-errors.js';
import { loadNativeAddon, type NetlinkAddon, type NetlinkPollHandle } from '../native/addon.js';

const DEBOUNCE_MS = 100;
/** The poll's interval while no event source works (no addon and no `ip`, or the source failed). */
export const POLL_MS = 2000;
/** The poll's interval while netlink or `ip monitor` reports events: only a backstop for an event lost on the way. */
export const BACKSTOP_POLL_MS = 60_000;
// Message bytes are never looked at (a longer message is cut to its slot), so small slots do.
const NETLINK_SLOTS = 16;
const NETLINK_SLOT_SIZE = 256;

/** Who hears of this host's address changes (the node: daemon/address-watch-wiring.ts). */
export interface AddressListener {
  /** The addresses as the listener would report them: only a change to this set is a change. */
  snapshot(): string[];
  /** An address we had is gone: said at once, so traffic is held before a route even exists. */
  addressLost(): void;
  /** The set settled after a change; `lostAny`: an earlier address is missing (a move), else the set only grew. */
  addressesChanged(addresses: string[], lostAny: boolean): void;
}

export class AddressWatch {
  private netlink: { addon: NetlinkAddon; fd: number; handle: NetlinkPollHandle } | null = null;
  private child: ChildProcess | null = null;
  private poll: NodeJS.Timeout | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private pollEveryMs = 0;
  private stopped = false;
  /** The set last reported through onChange (or seen at start). */
  private last: string;

  constructor(private readonly listener: AddressListener) {
    this.last = this.key();
  }

  start(): void {
    const events = this.startNetlink() || this.startMonitor();
    this.pollEvery(events ? BACKSTOP_POLL_MS : POLL_MS);
  }

  /** How often the interfaces are polled now (0 before start). */
  get pollIntervalMs(): number {
    return this.pollEveryMs;
  }

  private pollEvery(ms: number): void {
    if (this.stopped || ms === this.pollEveryMs) return;
    if (this.poll) clearInterval(this.poll);
    this.pollEveryMs = ms;
    this.poll = setInterval(
      guarded('address-watch', () => this.check()),
      ms,
    );
    this.poll.unref();
  }

  /** The event source failed (netlink socket error, `ip monitor` gone): the poll alone notices changes now. */
  private eventsLost(): void {
    this.pollEvery(POLL_MS);
  }

  private startNetlink(): boolean {
    let addon: NetlinkAddon;
    let fd: number;
    try {
      addon = loadNativeAddon();
      fd = addon.netlink_open_addr_watch();
    } catch {
      return false;
    }
    const buf = Buffer.allocUnsafe(NETLINK_SLOTS * NETLINK_SLOT_SIZE);
    // Guarded like every callback the event loop calls with outside events: a throw must not end the process.
    const handle = addon.netlink_poll_start(
      fd,
      buf,
      new Uint32Array(NETLINK_SLOTS),
      NETLINK_SLOT_SIZE,
      guarded('address-watch', (err: Error | null) => {
        if (err) {
          this.stopNetlink();
          this.eventsLost();
        } else this.netlinkEvent();
      }),
    );
    this.netlink = { addon, fd, handle };
    return true;
  }

  private startMonitor(): boolean {
    try {
      this.child = spawn('ip', ['-o', 'monitor', 'address', 'link'], { stdio: ['ignore', 'pipe', 'ignore'] });
      // No `ip` (spawn's error) or it ended: nothing reports events any more.
      const lost = (): void => {
        this.child = null;
        this.eventsLost();
      };
      this.child.on('error', lost);
      this.child.on('exit', lost);
      this.child.stdout?.on(
        'data',
        guarded('address-watch', () => this.netlinkEvent()),
      );
      this.child.unref();
      (this.child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
      return true;
    } catch {
      this.child = null;
      return false;
    }
  }

  private stopNetlink(): void {
    if (this.netlink === null) return;
    const { addon, fd, handle } = this.netlink;
    this.netlink = null;
    addon.netlink_poll_stop(handle);
    addon.netlink_close(fd);
  }

  private key(): string {
    return [...this.listener.snapshot()].sort().join(',');
  }

  private lostSince(last: string, now: string): boolean {
    const present = new Set(now.split(','));
    return last !== '' && last.split(',').some((a) => !present.has(a));
  }

  /** One raw netlink event (the monitor calls this; tests may too). */
  netlinkEvent(): void {
    const now = this.key();
    if (this.debounce === null && now === this.last) return;
    if (this.lostSince(this.last, now)) this.listener.addressLost();
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(
      guarded('address-watch', () => this.check()),
      DEBOUNCE_MS,
    );
    this.debounce.unref();
  }

  private check(): void {
    this.debounce = null;
    const key = this.key();
    if (key === this.last) return;
    const lostAny = this.lostSince(this.last, key);
    this.last = key;
    this.listener.addressesChanged(key === '' ? [] : key.split(','), lostAny);
  }

  stop(): void {
    this.stopped = true;
    this.stopNetlink();
    this.child?.kill();
    if (this.poll) clearInterval(this.poll);
    if (this.debounce) clearTimeout(this.debounce);
  }
}
