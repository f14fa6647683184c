// listen.host may be a host name (Nebula 1.7+): resolved once when the socket is opened, to the first address the
// resolver gives (an IPv4-mapped IPv6 address unmapped), as Nebula does. A name that does not resolve stops the
// start with one line naming the key, rather than binding somewhere the user did not ask for.

import { bareHost } from '../config/addresses.js';
import { isIP } from 'node:net';
import { ConfigError, ConfigErrorCode } from '../config/index.js';
import type { LoadedConfig, MeshConfig } from '../config/index.js';

export type Resolve = (host: string) => Promise<string[]>;

// node:dns/promises is loaded only when listen.host is a name: loading it costs every start ~0.5 ms before the first
// handshake (the cold tunnel), and nearly every listen.host is an address.
const systemResolve: Resolve = async (host) => {
  const { lookup } = await import('node:dns/promises');
  return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
};

/** `listen` with its host as an IP address (bracketed IPv6 kept as written). */
export async function resolveListenHost(
  loaded: Pick<LoadedConfig, 'config' | 'locate' | 'files'>,
  resolve: Resolve = systemResolve,
): Promise<MeshConfig['listen']> {
  const listen = loaded.config.listen;
  const bare = bareHost(listen.host);
  if (isIP(bare) !== 0) return listen;
  let addrs: string[];
  let why = 'no addresses';
  try {
    addrs = await resolve(listen.host);
  } catch (e) {
    addrs = [];
    why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  }
  if (addrs.length === 0) {
    const at = loaded.locate(['listen', 'host']);
    throw new ConfigError(
      ConfigErrorCode.value,
      { file: at?.file ?? loaded.files[0] ?? '<config>', line: at?.line, key: 'listen.host' },
      `cannot resolve ${JSON.stringify(listen.host)}: ${why}`,
    );
  }
  const first = addrs[0].replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
  return { ...listen, host: first };
}
