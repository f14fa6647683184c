// Birthday punching, for a symmetric NAT (a new random port per destination) on one side and a port-preserving
// NAT on the other, when both ends are mesh. The symmetric side (S) cannot learn in advance which port its NAT
// will use toward the other side (M), so it opens many mappings at once and M guesses:
//
//   S: opens SOCKETS sockets; each sends one low-TTL datagram to M's public address, which opens a mapping
//      (random port) in S's NAT toward M and dies before M's NAT.
//   M: sends up to PROBES authenticated test requests from its tunnel socket to random ports of S's public IP.
//      With 256 mappings among ~64k ports each probe hits with p ~ 1/250, so 2000 probes fail with p < 0.1%.
//   S: the first socket a probe reaches becomes the tunnel's socket; its reply goes out through the matching
//      mapping, M moves its tunnel to that address, and the other sockets close.
//
// The request travels as a test message over the (relayed) tunnel, so a nebula peer just echoes it and nothing
// else happens. Counts and rates are bounded; the whole attempt ends after ATTEMPT_MS.

export const BIRTHDAY_REQUEST = new TextEncoder().encode('mesh/birthday/1');
export const BIRTHDAY_PROBE = new TextEncoder().encode('mesh/probe/1');
export const SOCKETS = 256;
export const PROBES = 2000;
/** Probes per millisecond-tick batch: 2000 probes take about one second. */
export const PROBES_PER_TICK = 20;
export const PROBE_TICK_MS = 10;
export const ATTEMPT_MS = 4000;
/** Ports a Linux `masquerade random` NAT picks from. */
export const PORT_MIN = 1024;
export const PORT_MAX = 65535;
