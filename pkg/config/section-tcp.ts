// The mesh-only `tcp:` section: the TCP fallback for networks that drop UDP (docs/tcp-fallback.md). Nebula 1.6.1
// knows none of these keys and never uses TCP.
//
//   tcp:
//     listen: true     # a lighthouse or relay (relay.am_relay) also accepts TCP
//     port: 0          # its TCP port; 0 = the same number as its UDP listen port
//     fallback: true   # a node whose UDP gets no answer from its lighthouses falls back to TCP to them

import type { ConfigReader } from './reader.js';
import { readBool, readInt } from './typed-values.js';

export interface TcpConfig {
  listen: boolean;
  /** 0: the UDP listen port's number (the one bound, when listen.port is 0). */
  port: number;
  fallback: boolean;
}

/** The defaults; also what a config built by hand (without the section) gets. */
export const TCP_DEFAULTS: Readonly<TcpConfig> = { listen: true, port: 0, fallback: true };

export function readTcp(r: ConfigReader): TcpConfig {
  return {
    listen: readBool(r, ['tcp', 'listen'], TCP_DEFAULTS.listen),
    port: readInt(r, ['tcp', 'port'], TCP_DEFAULTS.port, 0, 65535),
    fallback: readBool(r, ['tcp', 'fallback'], TCP_DEFAULTS.fallback),
  };
}
