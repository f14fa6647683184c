// The namespace lab, from one import. Files, one job each:
//   lab.ts            Lab: namespaces, veths, internet, NAT routers, processes, teardown
//   addressing.ts     the address plan (all of it exists only inside lab namespaces)
//   nat.ts            nftables rulesets per NAT kind
//   exec.ts           run a command in a namespace with a deadline
//   process.ts        LabProcess: a long-running process with its log in a file
//   ping.ts           ping and its parsed result
//   counters.ts       nftables packet counters (which path did traffic take?)
//   udp-probe.ts      UDP echo server and prober (what did the NAT do?)
//   flow-probe.ts     TCP/UDP flow server, prober and streams (what did a firewall let through?)
//   static-peers.ts   overlay nodes that all know each other from static_host_map
//   firewall-cases.ts the rule set and verdict table shared by the firewall e2e and interop tests
//   wait.ts           waitFor: bounded polling
//   recovery.ts       time to first reply across an event (a move, a restart) and on a cold tunnel
//   recovery-scenarios.ts  issue 15's recovery cases, each in its own lab, for mesh or nebula
//   ipv6.ts           a routed, unfiltered IPv6 underlay next to the NATed IPv4 one (dual-stack cases)
//   miniupnpd.ts      Debian's miniupnpd (UPnP-IGD, NAT-PMP, PCP) on a NAT router, configured by the test
//   portmap-probe.ts  one port-mapping client run inside a namespace, driven over stdin (per-protocol tests)
//   portmap-scenario.ts  issue 16's port-mapping case (both routers symmetric, miniupnpd on one), for mesh or nebula
//   route-watch-probe.ts  the use_system_route_table route watch run alone in a namespace (socket overflow cases)
//   cleanup.ts        exit/signal teardown, sweepStaleLabs
//   nebula.ts         overlays: certs, configs, nebula (and later mesh) nodes
//
// Typical use in a node:test test (as root):
//   const lab = await Lab.create(t);                       // torn down after the test, pass or fail
//   const lh = await lab.publicHost('lh');
//   const r1 = await lab.natRouter('masq', { udpTimeoutSec: 30 });
//   const a = await lab.hostBehind(r1, 'a');
//   const net = await OverlayNet.create(lab, { cipher: 'aes' });
//   await net.start(lh, { name: 'lh', lighthouse: true, relay: true });
//   const na = await net.start(a, { name: 'a' });
//   (await lab.ping(a, '10.99.0.1', { count: 3 })).ok

export { Lab } from './lab.js';
export type { CleanupScope, Host, LinkOptions, Router, RouterOptions, SpawnInNsOptions } from './lab.js';
export { LAB_RANGES } from './addressing.js';
export type { NatKind } from './nat.js';
export { ExecError } from './exec.js';
export type { ExecOptions, ExecResult } from './exec.js';
export { LabProcess, LogWaitError } from './process.js';
export type { ExitInfo } from './process.js';
export type { PingOptions, PingResult } from './ping.js';
export { TrafficCounter } from './counters.js';
export type { CounterMatch, CounterValue, CountedHook } from './counters.js';
export { startUdpEcho, udpProbe } from './udp-probe.js';
export type { ProbeReply, ProbeResult } from './udp-probe.js';
export { FlowServer, FlowStream, probeFlows, startFlowServer, startFlowStream } from './flow-probe.js';
export type { FlowArrival, FlowOutcome, FlowProto, FlowResult, FlowTarget } from './flow-probe.js';
export { startStaticPeers } from './static-peers.js';
export type { StaticPeer } from './static-peers.js';
export { sleep, waitFor, WaitTimeoutError } from './wait.js';
export type { WaitOptions } from './wait.js';
export { sweepStaleLabs } from './cleanup.js';
export { miniupnpdPublicIp, startMiniupnpd } from './miniupnpd.js';
export type { Miniupnpd, MiniupnpdOptions } from './miniupnpd.js';
export { portmapScenario } from './portmap-scenario.js';
export type { PortmapPath, PortmapScenarioOptions, PortmapScenarioResult } from './portmap-scenario.js';
export * from './nebula.js';
