// Notices when this host's underlay addresses change (a laptop moving from WiFi to 4G): `ip -o monitor address`
// reports netlink events the moment they happen, and a slow poll covers systems without iproute2. Each event is
// checked against the address set the caller reports (`snapshot`), so routine netlink noise (IPv6 lifetime
// refreshes after a router advertisement, our own TUN coming up, addresses outside local_allow_list) is not a
// move. `onLost` fires at once when an address we had is gone (callers hold traffic before a route even exists);
// `onChange` fires after a short debounce with the settled set, saying whether any earlier address is missing
// from it (a move) or the set only grew (a new interface: the current paths still work).

import { spawn, type ChildProcess } from 'node:child_process';

const DEBOUNCE_MS = 100;
const POLL_MS = 2000;

export class AddressWatch {
  private child: ChildProcess | null = null;
  private poll: NodeJS.Timeout | null = null;
  private debounce: NodeJS.Timeout | null = null;
  /** The set last reported through onChange (or seen at start). */
  private last: string;

  constructor(
    private readonly snapshot: () => string[],
    private readonly onLost: () => void,
    private readonly onChange: (addresses: string[], lostAny: boolean) => void,
  ) {
    this.last = this.key();
  }

  start(): void {
    try {
      this.child = spawn('ip', ['-o', 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] });
      this.child.on('error', () => (this.child = null));
      this.child.stdout?.on('data', () => this.netlinkEvent());
      this.child.unref();
      (this.child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
    } catch {
      this.child = null;
    }
    this.poll = setInterval(() => this.check(), POLL_MS);
    this.poll.unref();
  }

  private key(): string {
    return [...this.snapshot()].sort().join(',');
  }

  private lostSince(last: string, now: string): boolean {
    const present = new Set(now.split(','));
    return last !== '' && last.split(',').some((a) => !present.has(a));
  }

  /** One raw netlink event (the monitor calls this; tests may too). */
  netlinkEvent(): void {
    const now = this.key();
    if (this.debounce === null && now === this.last) return;
    if (this.lostSince(this.last, now)) this.onLost();
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.check(), DEBOUNCE_MS);
    this.debounce.unref();
  }

  private check(): void {
    this.debounce = null;
    const key = this.key();
    if (key === this.last) return;
    const lostAny = this.lostSince(this.last, key);
    this.last = key;
    this.onChange(key === '' ? [] : key.split(','), lostAny);
  }

  stop(): void {
    this.child?.kill();
    if (this.poll) clearInterval(this.poll);
    if (this.debounce) clearTimeout(this.debounce);
  }
}
