// The underlay side: listen socket, routines, hole punching, cipher, preferred ranges, relays, handshake and
// connection timers.

import { isIP } from 'node:net';
import { canonicalVpnIp, checkCidr, isHostname, bareHost } from './addresses.js';
import { DEFAULTS } from './defaults.js';
import { ConfigErrorCode } from './errors.js';
import type { KeyPath } from './errors.js';
import type {
  Cipher,
  HandshakesConfig,
  ListenConfig,
  PunchyConfig,
  RelayConfig,
  SendRecvError,
  TimersConfig,
} from './mesh-config.js';
import type { ConfigReader } from './reader.js';
import {
  parseBool,
  readBool,
  readChoice,
  readDurationMs,
  readInt,
  readString,
  readStringList,
} from './typed-values.js';

const INT32_MAX = 2 ** 31 - 1;

export function readListen(r: ConfigReader): ListenConfig {
  const buffer = (key: string): number | undefined => readInt(r, ['listen', key], 0, 0, INT32_MAX) || undefined;
  return {
    host: readListenHost(r, ['listen', 'host']),
    port: readInt(r, ['listen', 'port'], DEFAULTS.listenPort, 0, 65535),
    batch: readInt(r, ['listen', 'batch'], DEFAULTS.listenBatch, 1, 65535),
    readBuffer: buffer('read_buffer'),
    writeBuffer: buffer('write_buffer'),
    sendRecvError: readSendRecvError(r, ['listen', 'send_recv_error']),
    acceptRecvError: readSendRecvError(r, ['listen', 'accept_recv_error']),
    soMark: readInt(r, ['listen', 'so_mark'], 0, 0, 2 ** 32 - 1),
    gro: readBool(r, ['listen', 'gro'], true),
  };
}

/** An IP address, IPv6 optionally in brackets ("[::]"), or a host name (Nebula 1.7+), which the daemon resolves
 * when it opens the socket (pkg/daemon/listen-host.ts). Nebula 1.6 bound to every address when it could not parse
 * the value; a name that does not resolve is now an error at start, in Nebula 1.7+ and here. */
function readListenHost(r: ConfigReader, path: KeyPath): string {
  const host = readString(r, path, DEFAULTS.listenHost);
  const bare = bareHost(host);
  if (isIP(bare) === 0 && !isHostname(host)) {
    throw r.error(
      ConfigErrorCode.value,
      path,
      `expected an IP address such as 0.0.0.0 or [::], or a host name, got ${JSON.stringify(host)}`,
    );
  }
  if (isIP(bare) === 0)
    r.warn(path, `host name, resolved at start (Nebula 1.6 ignored a name and bound to every address)`);
  return host;
}

function readSendRecvError(r: ConfigReader, path: KeyPath): SendRecvError {
  const v = r.value(path);
  if (v === undefined) return 'always';
  if (v === 'always' || v === 'never' || v === 'private') return v;
  // Nebula also takes a boolean: true = always, false = never.
  const yes = parseBool(v);
  if (yes === undefined) {
    throw r.error(
      ConfigErrorCode.value,
      path,
      `expected always, never, private or a boolean, got ${JSON.stringify(v)}`,
    );
  }
  return yes ? 'always' : 'never';
}

/** `routines`, or else the larger of the deprecated tun.routines / listen.routines. */
export function readRoutines(r: ConfigReader): number {
  const routines = readInt(r, ['routines'], 0, 0, 1024);
  const tunRoutines = readInt(r, ['tun', 'routines'], 0, 0, 1024);
  const listenRoutines = readInt(r, ['listen', 'routines'], 0, 0, 1024);
  if (routines !== 0) return routines;
  if (tunRoutines !== 0) r.warn(['tun', 'routines'], 'deprecated, use routines');
  if (listenRoutines !== 0) r.warn(['listen', 'routines'], 'deprecated, use routines');
  return Math.max(tunRoutines, listenRoutines, DEFAULTS.routines);
}

export function readPunchy(r: ConfigReader): PunchyConfig {
  r.keepRaw(['punch_back']); // known even when punchy.respond makes it irrelevant
  const section = r.value(['punchy']);
  if (section !== undefined && (typeof section !== 'object' || Array.isArray(section))) {
    // Deprecated form: `punchy: true` at the top level (then there is no punchy map to hold respond or delay).
    r.warn(['punchy'], 'a boolean here is deprecated, use punchy.punch');
    return {
      punch: readBool(r, ['punchy'], false),
      respond: readPunchBack(r),
      delayMs: DEFAULTS.punchDelayMs,
      respondDelayMs: DEFAULTS.punchRespondDelayMs,
      targetAllRemotes: false,
    };
  }
  return {
    punch: readBool(r, ['punchy', 'punch'], false),
    respond: r.has(['punchy', 'respond']) ? readBool(r, ['punchy', 'respond'], false) : readPunchBack(r),
    delayMs: readDurationMs(r, ['punchy', 'delay'], DEFAULTS.punchDelayMs),
    respondDelayMs: readDurationMs(r, ['punchy', 'respond_delay'], DEFAULTS.punchRespondDelayMs),
    targetAllRemotes: readBool(r, ['punchy', 'target_all_remotes'], false),
  };
}

/** The deprecated top-level `punch_back`, used when punchy.respond is absent. */
function readPunchBack(r: ConfigReader): boolean {
  if (!r.has(['punch_back'])) return false;
  r.warn(['punch_back'], 'deprecated, use punchy.respond');
  return readBool(r, ['punch_back'], false);
}

export function readCipher(r: ConfigReader): Cipher {
  return readChoice(r, ['cipher'], ['aes', 'chachapoly'] as const, 'aes');
}

/** preferred_ranges, then the deprecated single local_range, without repeats. */
export function readPreferredRanges(r: ConfigReader): string[] {
  const ranges = readStringList(r, ['preferred_ranges']);
  ranges.forEach((cidr, i) => checkRange(r, ['preferred_ranges', i], cidr));
  const local = readString(r, ['local_range'], '');
  if (local !== '') {
    checkRange(r, ['local_range'], local);
    r.warn(['local_range'], 'deprecated, use preferred_ranges');
    if (!ranges.includes(local)) ranges.push(local);
  }
  return ranges;
}

function checkRange(r: ConfigReader, path: KeyPath, cidr: string): void {
  const family = checkCidr(cidr);
  if (typeof family === 'string') throw r.error(ConfigErrorCode.value, path, `invalid CIDR "${cidr}": ${family}`);
}

export function readRelay(r: ConfigReader): RelayConfig {
  const relays = readStringList(r, ['relay', 'relays']).map((relay, i) => {
    const ip = canonicalVpnIp(relay);
    if (ip === undefined)
      throw r.error(ConfigErrorCode.value, ['relay', 'relays', i], `"${relay}" is not a VPN address (IPv4 or IPv6)`);
    return ip;
  });
  return {
    relays,
    amRelay: readBool(r, ['relay', 'am_relay'], false),
    useRelays: readBool(r, ['relay', 'use_relays'], DEFAULTS.relayUseRelays),
  };
}

export function readHandshakes(r: ConfigReader): HandshakesConfig {
  return {
    tryIntervalMs: readDurationMs(r, ['handshakes', 'try_interval'], DEFAULTS.handshakeTryIntervalMs, { minMs: 1 }),
    retries: readInt(r, ['handshakes', 'retries'], DEFAULTS.handshakeRetries, 0, INT32_MAX),
    triggerBuffer: readInt(r, ['handshakes', 'trigger_buffer'], DEFAULTS.handshakeTriggerBuffer, 0, INT32_MAX),
  };
}

export function readTimers(r: ConfigReader): TimersConfig {
  // Nebula reads both as integer seconds.
  const seconds = { bareSeconds: true, minMs: 1 };
  return {
    connectionAliveIntervalMs: readDurationMs(
      r,
      ['timers', 'connection_alive_interval'],
      DEFAULTS.connectionAliveIntervalMs,
      seconds,
    ),
    pendingDeletionIntervalMs: readDurationMs(
      r,
      ['timers', 'pending_deletion_interval'],
      DEFAULTS.pendingDeletionIntervalMs,
      seconds,
    ),
  };
}
