// Why the firewall refused a packet. Each value is one metric label, so the set is closed and stable.

export type DropReason =
  /**
   * Shorter than an IPv4 or IPv6 header, or than the header plus the upper-layer bytes the firewall needs (4 port
   * bytes; for ICMPv6 type/code/checksum and an echo's identifier).
   */
  | 'short-packet'
  /** The version nibble is neither 4 nor 6 (the label predates IPv6; labels stay stable). */
  | 'not-ipv4'
  /** The IPv4 header length field says less than 20 bytes. */
  | 'bad-header'
  /**
   * An IPv6 extension header chain the firewall will not judge: truncated, a header running past the packet, more
   * than 8 headers or 1024 bytes of them, hop-by-hop not first, or two fragment headers (docs/ipv6.md).
   */
  | 'bad-extension-header'
  /** The remote inner address is not one the peer's certificate covers (a spoofed source). */
  | 'remote-not-in-cert'
  /** The local inner address is neither one of our certificate's addresses nor in our subnets. */
  | 'local-not-ours'
  /** No inbound/outbound rule allows the packet (the firewall denies by default). */
  | 'no-rule'
  /**
   * A rule allowed the packet but its peer already holds `max_connections_per_host` flows it opened toward us,
   * all of them answered (an unanswered one would have made way).
   */
  | 'conntrack-host-quota'
  /** A rule allowed the packet but the conntrack table (or the share of it that peers may fill) is full. */
  | 'conntrack-full';

export const DROP_REASONS: readonly DropReason[] = [
  'short-packet',
  'not-ipv4',
  'bad-header',
  'bad-extension-header',
  'remote-not-in-cert',
  'local-not-ours',
  'no-rule',
  'conntrack-host-quota',
  'conntrack-full',
];
