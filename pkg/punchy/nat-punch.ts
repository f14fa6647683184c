// Opening our own NAT before the far side's packets arrive, without poisoning the far NAT.
//
// Two Linux-style (port-preserving) NATs defeat plain simultaneous punching: when our first datagram reaches the
// far router before the far host has sent anything to us, the far router records it as an unreplied flow; the
// far host's own datagram to us then clashes with that flow, its NAT picks another source port, and ours drops it.
// Nebula 1.6.1 keeps punching and so keeps that flow alive: such pairs stay relayed forever.
//
// So a mesh node first sends a one-byte punch with a small IP TTL: it creates our router's mapping and dies in
// the network before it can reach the far router. Only after the far side has done the same (coordinated through
// the lighthouse's punch notification) do full-TTL packets go out, and they find both mappings open. How this fits
// with the other methods: docs/nat-traversal.md.

/** Hops a punch survives: through our own NAT router and no further than the next router. */
export const PUNCH_TTL = 2;
/**
 * How long full-TTL packets wait for the far side's low-TTL punch. The lighthouse tells both sides at once and our
 * packet still has to cross to the far NAT, so this only has to cover jitter and processing. Only addresses behind
 * a NAT of the peer's wait; stage 1 goes at once to the others (punch-needed.ts).
 */
export const PUNCH_SETTLE_MS = 100;
/** While a relayed tunnel exists, how often we try to move it to a direct path. */
export const DIRECT_UPGRADE_INTERVAL_MS = 5_000;
