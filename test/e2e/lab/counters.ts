import { execIn } from './exec.js';

// Packet counters on a namespace's netfilter hooks. They show which way traffic really went (for example whether
// two NATed peers talk directly through the internet namespace or only through a relay) without a packet capture.

export type CountedHook = 'forward' | 'input' | 'output';

export interface CounterMatch {
  hook?: CountedHook;
  saddr?: string;
  daddr?: string;
  proto?: 'udp' | 'tcp' | 'icmp';
  sport?: number;
  dport?: number;
  /** Count only UDP datagrams whose UDP length (header + payload) is at least this; 9 skips 1-byte hole punches. */
  minUdpLength?: number;
}

export interface CounterValue {
  packets: number;
  bytes: number;
}

const TABLE = 'lab_count';
const prepared = new Set<string>();

export class TrafficCounter {
  constructor(
    readonly ns: string,
    readonly hook: CountedHook,
    readonly id: string,
    readonly rule: string,
  ) {}

  static async add(ns: string, id: string, match: CounterMatch): Promise<TrafficCounter> {
    const hook = match.hook ?? 'forward';
    if (!prepared.has(ns)) {
      await execIn(ns, 'nft', ['-f', '-'], { input: countingTable() });
      prepared.add(ns);
    }
    const rule = ruleText(match);
    await execIn(ns, 'nft', ['add', 'rule', 'inet', TABLE, hook, ...rule.split(' '), 'counter', 'comment', `"${id}"`]);
    return new TrafficCounter(ns, hook, id, rule);
  }

  async read(): Promise<CounterValue> {
    const { stdout } = await execIn(this.ns, 'nft', ['-j', 'list', 'chain', 'inet', TABLE, this.hook]);
    const items = (JSON.parse(stdout) as { nftables: Array<{ rule?: { comment?: string; expr: unknown[] } }> })
      .nftables;
    const rule = items.find((item) => item.rule?.comment === this.id)?.rule;
    if (rule === undefined) throw new Error(`counter ${this.id} not found in ${this.ns}`);
    for (const expr of rule.expr as Array<{ counter?: CounterValue }>) {
      if (expr.counter !== undefined) return { packets: expr.counter.packets, bytes: expr.counter.bytes };
    }
    throw new Error(`rule ${this.id} in ${this.ns} has no counter`);
  }
}

/** Forgets that `ns` has the counting table (call when the namespace is deleted). */
export function forgetCounters(ns: string): void {
  prepared.delete(ns);
}

function countingTable(): string {
  const chain = (hook: CountedHook) =>
    `  chain ${hook} {\n    type filter hook ${hook} priority -10; policy accept;\n  }\n`;
  return `table inet ${TABLE} {\n${chain('forward')}${chain('input')}${chain('output')}}\n`;
}

function ruleText(match: CounterMatch): string {
  const parts: string[] = [];
  if (match.saddr !== undefined) parts.push(`ip saddr ${match.saddr}`);
  if (match.daddr !== undefined) parts.push(`ip daddr ${match.daddr}`);
  const proto = match.proto ?? (match.minUdpLength !== undefined ? 'udp' : undefined);
  if (proto === 'icmp') parts.push('ip protocol icmp');
  else if (proto !== undefined) parts.push(`meta l4proto ${proto}`);
  if (match.sport !== undefined) parts.push(`${proto ?? 'udp'} sport ${match.sport}`);
  if (match.dport !== undefined) parts.push(`${proto ?? 'udp'} dport ${match.dport}`);
  if (match.minUdpLength !== undefined) parts.push(`udp length >= ${match.minUdpLength}`);
  return parts.join(' ');
}
