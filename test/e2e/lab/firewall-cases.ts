import { probeFlows } from './flow-probe.js';
import type { FlowOutcome, FlowProto } from './flow-probe.js';
import type { Host, Lab } from './lab.js';

// One firewall rule set and what it must let through, shared by the mesh e2e test and the nebula interop test so
// that both judge the same verdicts. The filtering host ("server") runs serverFirewall() and a flow server on
// SERVER_PORTS; clients play three roles through their certificate groups (and alice also through her name):
//
//   alice  web, prod, ping   the host rule names her
//   bob    web
//   carol  prod, ping

export type ClientRole = 'alice' | 'bob' | 'carol';

export const ROLE_GROUPS: Record<ClientRole, string[]> = {
  alice: ['web', 'prod', 'ping'],
  bob: ['web'],
  carol: ['prod', 'ping'],
};

/** The server listens on every port a case probes, so a denied probe is the firewall's doing, not a closed port. */
export const SERVER_PORTS = { tcp: [8080, 8081, 9000, 9002, 9003], udp: [5353, 9000] };

/**
 * Inbound: ICMP from group ping; tcp/8080 from web AND prod; tcp/9000-9002 from web; udp/5353 from the hosts named
 * (the certificate names playing alice). Outbound: anything. `extra` is merged over the section (e.g. inbound_action).
 */
export function serverFirewall(aliceNames: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    conntrack: { tcp_timeout: '12m', udp_timeout: '3m', default_timeout: '10m' },
    outbound: [{ port: 'any', proto: 'any', host: 'any' }],
    inbound: [
      { port: 'any', proto: 'icmp', group: 'ping' },
      { port: 8080, proto: 'tcp', groups: ['web', 'prod'] },
      { port: '9000-9002', proto: 'tcp', group: 'web' },
      ...aliceNames.map((name) => ({ port: 5353, proto: 'udp', host: name })),
    ],
    ...extra,
  };
}

export interface VerdictCase {
  what: string;
  proto: FlowProto | 'icmp';
  port: number;
  allowed: readonly ClientRole[];
}

export const VERDICT_CASES: readonly VerdictCase[] = [
  { what: 'icmp, group ping', proto: 'icmp', port: 0, allowed: ['alice', 'carol'] },
  { what: 'tcp/8080, groups web AND prod', proto: 'tcp', port: 8080, allowed: ['alice'] },
  { what: 'tcp/8081, no rule for the port', proto: 'tcp', port: 8081, allowed: [] },
  { what: 'tcp/9000, start of range 9000-9002', proto: 'tcp', port: 9000, allowed: ['alice', 'bob'] },
  { what: 'tcp/9002, end of range 9000-9002', proto: 'tcp', port: 9002, allowed: ['alice', 'bob'] },
  { what: 'tcp/9003, just past the range', proto: 'tcp', port: 9003, allowed: [] },
  { what: 'udp/5353, host alice', proto: 'udp', port: 5353, allowed: ['alice'] },
  { what: 'udp/9000, the range is for tcp only', proto: 'udp', port: 9000, allowed: [] },
];

export interface Observed {
  case: VerdictCase;
  outcome: FlowOutcome;
  ms: number;
  /** For TCP/UDP: the probe's token, to look for at the server. */
  token?: string;
}

/** Runs every case from `from` against `serverIp` at once (ICMP with ping); denied probes take `timeoutMs`. */
export async function observeVerdicts(lab: Lab, from: Host, serverIp: string, timeoutMs = 1000): Promise<Observed[]> {
  const flowCases = VERDICT_CASES.filter((c) => c.proto !== 'icmp');
  const pingCases = VERDICT_CASES.filter((c) => c.proto === 'icmp');
  const targets = flowCases.map((c) => ({ proto: c.proto as FlowProto, ip: serverIp, port: c.port }));
  const [flows, pings] = await Promise.all([
    probeFlows(lab, from, targets, { timeoutMs }),
    Promise.all(
      pingCases.map(async (c) => {
        const started = performance.now();
        const r = await lab.ping(from, serverIp, { count: 1, timeoutSec: Math.max(1, Math.ceil(timeoutMs / 1000)) });
        const outcome: FlowOutcome = r.ok ? 'answered' : r.errors.length > 0 ? 'refused' : 'timeout';
        return { case: c, outcome, ms: performance.now() - started };
      }),
    ),
  ]);
  const byFlow = flows.map((r, i) => ({
    case: flowCases[i] as VerdictCase,
    outcome: r.outcome,
    ms: r.ms,
    token: r.token,
  }));
  return [...pings, ...byFlow];
}

/** "answered" where the role is allowed, else `denied` (timeout for drop, refused for reject). */
export function expectedOutcome(c: VerdictCase, role: ClientRole, denied: FlowOutcome = 'timeout'): FlowOutcome {
  return c.allowed.includes(role) ? 'answered' : denied;
}
