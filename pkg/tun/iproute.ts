// Configures a TUN with iproute2 at setup time: address, MTU, queue length, link up, then routes. The plan is a
// pure list of `ip` argument vectors (tested without root); runIpPlan executes it.
//
// Routes follow Nebula: the device MTU is the largest route MTU; the VPN network's own (connected) route is
// replaced in place to carry the default MTU; every route whose MTU differs from the device's advertises
// MSS = MTU - 40 so TCP peers size segments to fit.

import { execFile } from 'node:child_process';
import { formatCidr, formatIpv4, networkOf, parseCidr, type Ipv4Net } from '../ip/ipv4.js';
import { TunError } from './errors.js';

export const DEFAULT_TX_QUEUE_LEN = 500;

export interface TunRoute {
  /** A network, or its CIDR text as config spells it ("10.1.0.0/16"). */
  route: Ipv4Net | string;
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
  /** Default MTU: the VPN network's route and routes without their own. */
  mtu: number;
  /** Overlay address with its network mask (host bits kept), from the certificate. */
  address: Ipv4Net;
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

export function planIpCommands(dev: string, cfg: TunConfig): IpCommand[] {
  const maxMtu = deviceMtu(cfg);
  const mtuArgs = (mtu: number): string[] =>
    mtu === maxMtu ? ['mtu', String(mtu)] : ['mtu', String(mtu), 'advmss', String(mtu - 40)];
  const plan: IpCommand[] = [
    { args: ['link', 'set', 'dev', dev, 'mtu', String(maxMtu), 'txqueuelen', String(cfg.txQueueLen ?? DEFAULT_TX_QUEUE_LEN)] },
    // No IPv6 link-local address: its router solicitations would only be read back and dropped.
    { args: ['link', 'set', 'dev', dev, 'addrgenmode', 'none'], optional: true },
    { args: ['addr', 'replace', formatCidr(cfg.address), 'dev', dev] },
    { args: ['link', 'set', 'dev', dev, 'up'] },
    {
      // Same key (table main, metric 0) as the connected route the kernel installed, so this replaces it.
      args: [
        'route', 'replace', formatCidr(networkOf(cfg.address)), 'dev', dev, ...mtuArgs(cfg.mtu),
        'scope', 'link', 'src', formatIpv4(cfg.address.ip), 'proto', 'kernel',
      ],
    },
  ];
  for (const r of cfg.routes ?? []) {
    plan.push({
      args: ['route', 'replace', routeCidr(r.route), 'dev', dev, ...mtuArgs(r.mtu ?? cfg.mtu), 'scope', 'link'],
    });
  }
  for (const r of cfg.unsafeRoutes ?? []) {
    if (r.install === false) continue;
    const metric = r.metric ? ['metric', String(r.metric)] : [];
    plan.push({
      args: [
        'route', 'replace', routeCidr(r.route), 'dev', dev, ...mtuArgs(r.mtu ?? cfg.mtu), 'scope', 'link',
        ...metric,
      ],
    });
  }
  return plan;
}

function routeCidr(route: Ipv4Net | string): string {
  return formatCidr(networkOf(typeof route === 'string' ? parseCidr(route) : route));
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
  const failed = failedLines.length === 0 ? [...plan] : failedLines.map((n) => plan[n - 1]).filter((c) => c !== undefined);
  const required = failed.filter((c) => !c.optional);
  if (required.length === 0) return;
  throw new TunError('ETUNCONFIG', `ip ${required.map((c) => c.args.join(' ')).join('; ')} failed${stderr ? `: ${stderr}` : ''}`, {
    cause: failedToRun,
  });
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
