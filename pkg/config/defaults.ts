// Nebula 1.6.1's code defaults (what a missing key means), not the values in its example config.

const SECOND = 1000;
const MINUTE = 60 * SECOND;

export const DEFAULTS = {
  lighthouseIntervalSeconds: 10,
  dnsPort: 53,
  listenHost: '0.0.0.0',
  listenPort: 0,
  listenBatch: 64,
  routines: 1,
  punchDelayMs: 1 * SECOND,
  /** punchy.respond_delay (a key since 1.7; 1.6.1 waited this long too). */
  punchRespondDelayMs: 5 * SECOND,
  relayUseRelays: true,
  tunTxQueue: 500,
  tunMtu: 1300,
  /** Below this Nebula refuses route MTUs; we apply it to tun.mtu too. */
  minMtu: 500,
  maxMtu: 65535,
  handshakeTryIntervalMs: 100,
  handshakeRetries: 10,
  handshakeTriggerBuffer: 64,
  tcpTimeoutMs: 12 * MINUTE,
  udpTimeoutMs: 3 * MINUTE,
  defaultTimeoutMs: 10 * MINUTE,
  maxConnections: 100000,
  /** routine_cache_timeout when `routines` > 1 and the key is absent. */
  multiRoutineCacheTimeoutMs: 1 * SECOND,
  connectionAliveIntervalMs: 5 * SECOND,
  pendingDeletionIntervalMs: 10 * SECOND,
  statsPrefix: 'nebula',
  statsProtocol: 'tcp',
} as const;
