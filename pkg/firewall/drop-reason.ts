// Why the firewall refused a packet. Each value is one metric label, so the set is closed and stable.

export type DropReason =
  /** Shorter than an IPv4 header, or than the header plus the 4 port bytes the firewall needs. */
  | 'short-packet'
  /** The version nibble is not 4: only IPv4 travels inside a Nebula 1.6 tunnel. */
  | 'not-ipv4'
  /** The header length field says less than 20 bytes. */
  | 'bad-header'
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
  'remote-not-in-cert',
  'local-not-ours',
  'no-rule',
  'conntrack-host-quota',
  'conntrack-full',
];
