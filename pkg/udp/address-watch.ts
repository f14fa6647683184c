// Notices when this host's underlay addresses change (a laptop moving from WiFi to 4G): `ip -o monitor address`
// reports netlink events the moment they happen, and a slow poll of the interface list covers systems without
// iproute2. `onEvent` fires at once on any raw event (callers hold traffic before a route even exists);
// `onChange` fires after a short debounce, only when the set of addresses really changed.

import { spawn, type ChildProcess } from 'node:child_process';
import { networkInterfaces } from 'node:os';

const DEBOUNCE_MS = 100;
const POLL_MS = 2000;

export function currentAddresses(): string[] {
  const out: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (!a.internal && !(a.family === 'IPv6' && /^fe[89ab]/i.test(a.address))) out.push(a.address);
  }
  return out.sort();
}

export class AddressWatch {
  private child: ChildProcess | null = null;
  private poll: NodeJS.Timeout | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private last: string;

  constructor(
    private readonly onEvent: () => void,
    private readonly onChange: (addresses: string[]) => void,
  ) {
    this.last = currentAddresses().join(',');
  }

  start(): void {
    try {
      this.child = spawn('ip', ['-o', 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] });
      this.child.on('error', () => (this.child = null));
      this.child.stdout?.on('data', () => this.event());
      this.child.unref();
      (this.child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
    } catch {
      this.child = null;
    }
    this.poll = setInterval(() => this.check(), POLL_MS);
    this.poll.unref();
  }

  private event(): void {
    this.onEvent();
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.check(), DEBOUNCE_MS);
    this.debounce.unref();
  }

  private check(): void {
    const now = currentAddresses();
    const key = now.join(',');
    if (key === this.last) return;
    this.last = key;
    this.onChange(now);
  }

  stop(): void {
    this.child?.kill();
    if (this.poll) clearInterval(this.poll);
    if (this.debounce) clearTimeout(this.debounce);
  }
}
