// Configures a TUN with iproute2 at setup time: addresses, MTU, queue length, link up, then routes. The plan is a
// pure list of `ip` argument vectors (tested without root); runIpPlan executes it.
//
// Routes follow Nebula: the device MTU is the largest route MTU; each overlay network's own (connected) route is
// replaced in place to carry the default MTU; every route whose MTU differs from the device's advertises an MSS
// that fits it (MTU - 40 for IPv4, MTU - 60 for IPv6: its header is 20 bytes longer). A host has one address per
// network of its certificate, IPv4 and IPv6 alike (docs/ipv6.md).

import { execFile } from 'node:child_process';
import { type Ipv4Net, maskToPrefix } from '../ip/ipv4.js';
import { formatIpAddr, formatIpPrefix, ipv4FromUint32, parseIpPrefix, type IpPrefix } from '../ip/prefix.js';
import { TunError } from './errors.js';

export const DEFAULT_TX_QUEUE_LEN = 500;

export interface TunRoute {
  /** A network of either family, or its CIDR text as config spells it ("10.1.0.0/16", "fd00:1::/64"). */
  route: IpPrefix | Ipv4Net | string;
  /** Route MTU; the device's default MTU when absent. */
  mtu?: number;
}

export interface UnsafeTunRoute extends TunRoute {
  /** Kernel route priority ("metric"); the kernel default (0) when absent. */
  metric?: number;
  /** false (Nebula 1.7+ `install: false`): routed through the tunnel by us, but not added to the system table. */
  install?: boolean;
}

export interface TunConfig {
  /** Default MTU: each overlay network's connected route, and routes without their own. */
  mtu: number;
  /**
   * Every overlay address of the host with its prefix length (host bits kept): the networks of its certificate(s),
   * IPv4 and IPv6, in certificate order. Each gets its address on the device and its connected route.
   */
  networks?: readonly IpPrefix[];
  /** The IPv4-only form of one network (a v1 certificate's); used when `networks` is absent. */
  address?: Ipv4Net;
  txQueueLen?: number;
  routes?: readonly TunRoute[];
  unsafeRoutes?: readonly UnsafeTunRoute[];
}

export interface IpCommand {
  args: string[];
  /** A failure is tolerated (a feature the kernel may lack), not fatal for setup. */
  optional?: boolean;
}

/** The device MTU: the default or any larger route MTU. */
export function deviceMtu(cfg: TunConfig): number {
  let mtu = cfg.mtu;
  for (const r of [...(cfg.routes ?? []), ...(cfg.unsafeRoutes ?? [])]) mtu = Math.max(mtu, r.mtu ?? cfg.mtu);
  return mtu;
}

/** The overlay networks to configure: `networks`, else the single IPv4 `address`. */
export function tunNetworks(cfg: TunConfig): readonly IpPrefix[] {
  if (cfg.networks !== undefined) return cfg.networks;
  return cfg.address === undefined ? [] : [fromIpv4Net(cfg.address)];
}

export function planIpCommands(dev: string, cfg: TunConfig): IpCommand[] {
  const maxMtu = deviceMtu(cfg);
  const mtuArgs = (mtu: number, family: 4 | 6): string[] =>
    mtu === maxMtu ? ['mtu', String(mtu)] : ['mtu', String(mtu), 'advmss', String(mtu - (family === 4 ? 40 : 60))];
  // Every route the device gets: on the link, with its MTU (and MSS when below the device's), then its own tail.
  const routeReplace = (net: IpPrefix, mtu: number, tail: string[]): IpCommand => ({
    args: [
      'route',
      'replace',
      formatIpPrefix(net),
      'dev',
      dev,
      ...mtuArgs(mtu, net.addr.family),
      'scope',
      'link',
      ...tail,
    ],
  });
  const networks = tunNetworks(cfg);
  if (networks.length === 0) throw new TunError('ETUNCONFIG', `tun ${dev}: no overlay address to configure`);
  checkIpv6Mtus(dev, cfg, networks);
  const plan: IpCommand[] = [
    {
      args: [
        'link',
        'set',
        'dev',
        dev,
        'mtu',
        String(maxMtu),
        'txqueuelen',
        String(cfg.txQueueLen ?? DEFAULT_TX_QUEUE_LEN),
      ],
    },
    // No IPv6 link-local address: no router solicitations or MLD reports the data path would only read and drop.
    { args: ['link', 'set', 'dev', dev, 'addrgenmode', 'none'], optional: true },
  ];
  // A TUN is NOARP, so the kernel skips duplicate address detection for the IPv6 addresses too (docs/ipv6.md).
  for (const n of networks) plan.push({ args: ['addr', 'replace', formatIpPrefix(n), 'dev', dev] });
  plan.push({ args: ['link', 'set', 'dev', dev, 'up'] });
  for (const n of networks) {
    // Same key as the connected route the kernel installed (table main; metric 0 for IPv4, 256 for IPv6), so
    // this replaces it instead of adding a second one it would shadow. IPv4 names its source address as Nebula
    // does; IPv6 cannot while the new address is still tentative (the kernel refuses it for a moment after link
    // up, the race Nebula retries around) and needs none: source selection picks the address of the prefix.
    const tail =
      n.addr.family === 4
        ? ['src', formatIpAddr(n.addr), 'proto', 'kernel']
        : ['proto', 'kernel', 'metric', String(IPV6_CONNECTED_METRIC)];
    plan.push(routeReplace(masked(n), cfg.mtu, tail));
  }
  for (const r of cfg.routes ?? []) plan.push(routeReplace(routePrefix(r.route), r.mtu ?? cfg.mtu, []));
  for (const r of cfg.unsafeRoutes ?? []) {
    if (r.install === false) continue;
    const metric = r.metric ? ['metric', String(r.metric)] : [];
    plan.push(routeReplace(routePrefix(r.route), r.mtu ?? cfg.mtu, metric));
  }
  return plan;
}

// The metric the kernel gives an IPv6 address's prefix route (IP6_RT_PRIO_ADDRCONF).
const IPV6_CONNECTED_METRIC = 256;
// IPv6's minimum link MTU (RFC 8200 §5). Below it the kernel turns IPv6 off on the device, and the address would
// fail with an error that does not say why; config validation refuses it first (part A), this is the backstop.
export const IPV6_MIN_MTU = 1280;

function checkIpv6Mtus(dev: string, cfg: TunConfig, networks: readonly IpPrefix[]): void {
  const tooSmall = (mtu: number): boolean => mtu < IPV6_MIN_MTU;
  if (networks.some((n) => n.addr.family === 6) && tooSmall(cfg.mtu)) {
    throw new TunError('ETUNCONFIG', `tun ${dev}: an IPv6 overlay needs tun.mtu >= ${IPV6_MIN_MTU}, got ${cfg.mtu}`);
  }
  for (const r of [...(cfg.routes ?? []), ...(cfg.unsafeRoutes ?? [])]) {
    const net = routePrefix(r.route);
    if (net.addr.family === 6 && tooSmall(r.mtu ?? cfg.mtu)) {
      throw new TunError(
        'ETUNCONFIG',
        `tun ${dev}: IPv6 route ${formatIpPrefix(net)} needs an MTU >= ${IPV6_MIN_MTU}, got ${r.mtu ?? cfg.mtu}`,
      );
    }
  }
}

function fromIpv4Net(n: Ipv4Net): IpPrefix {
  return { addr: ipv4FromUint32(n.ip), bits: maskToPrefix(n.mask) };
}

/** The network of a route: host bits cleared. */
function routePrefix(route: IpPrefix | Ipv4Net | string): IpPrefix {
  if (typeof route === 'string') return masked(parseIpPrefix(route.trim()));
  return masked('addr' in route ? route : fromIpv4Net(route));
}

function masked(p: IpPrefix): IpPrefix {
  const bytes = Uint8Array.from(p.addr.bytes);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, p.bits - 8 * i));
    bytes[i] &= (0xff << (8 - keep)) & 0xff;
  }
  return { addr: { family: p.addr.family, bytes }, bits: p.bits };
}

/**
 * Runs the plan in order in one `ip -force -batch -` process: one fork instead of one per command (forks were most
 * of a cold start's TUN setup). `-force` goes on past a failed line and names it ("Command failed -:N"), so an
 * optional command (a feature the kernel may lack) may fail while a required one fails the setup.
 */
export async function runIpPlan(plan: readonly IpCommand[]): Promise<void> {
  if (plan.length === 0) return;
  let stderr = '';
  let failedToRun: unknown = null;
  try {
    await runIp(['-force', '-batch', '-'], plan.map((c) => c.args.join(' ')).join('\n') + '\n');
  } catch (err) {
    stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    failedToRun = err;
  }
  if (failedToRun === null) return;
  const failedLines = [...stderr.matchAll(/Command failed -:(\d+)/g)].map((m) => Number(m[1]));
  // No line named: ip itself did not run (missing binary, timeout); every command counts as failed.
  const failed =
    failedLines.length === 0 ? [...plan] : failedLines.map((n) => plan[n - 1]).filter((c) => c !== undefined);
  const required = failed.filter((c) => !c.optional);
  if (required.length === 0) return;
  throw new TunError(
    'ETUNCONFIG',
    `ip ${required.map((c) => c.args.join(' ')).join('; ')} failed${stderr ? `: ${stderr}` : ''}`,
    {
      cause: failedToRun,
    },
  );
}

function runIp(args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile('ip', args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr }));
      else resolve();
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}
