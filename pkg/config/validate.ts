// Turns raw settings (one file or a merged directory) into a MeshConfig, or throws the first ConfigError.
// Used by loadConfig and by anything that validates a config it already holds (reload, tests, `-test`).

import { ConfigError, ConfigErrorCode } from './errors.js';
import type { MeshConfig } from './mesh-config.js';
import { ConfigReader, isMap } from './reader.js';
import type { Locator } from './reader.js';
import { readFirewall } from './section-firewall.js';
import { checkLighthouseRelations, readLighthouse, readStaticHostMap } from './section-lighthouse.js';
import { readControl, readLogging, readSshd, readStats } from './section-operations.js';
import { readPki } from './section-pki.js';
import { readPortMap } from './section-portmap.js';
import {
  readCipher,
  readHandshakes,
  readListen,
  readPreferredRanges,
  readPunchy,
  readRelay,
  readRoutines,
  readTimers,
} from './section-transport.js';
import { readTcp } from './section-tcp.js';
import { readTun } from './section-tun.js';
import { readLaterReleaseKeys } from './section-later.js';

export interface ValidatedConfig {
  config: MeshConfig;
  /** Unknown keys and deprecated spellings, each starting with `file:line:`. */
  warnings: string[];
}

/**
 * @param raw the parsed YAML (top level must be a map)
 * @param locate where a key path was written, for messages; without it messages name `defaultFile` only
 * @param defaultFile named when a key has no place (required keys that are absent, or no locator)
 */
export function validateConfig(raw: unknown, locate?: Locator, defaultFile = '<config>'): ValidatedConfig {
  if (!isMap(raw)) {
    throw new ConfigError(ConfigErrorCode.type, { file: defaultFile }, 'the top level must be a map of settings');
  }
  const r = new ConfigReader(raw, locate, defaultFile);

  const routines = readRoutines(r);
  const staticHostMap = readStaticHostMap(r);
  const lighthouse = readLighthouse(r);
  const listen = readListen(r);
  checkLighthouseRelations(r, lighthouse, staticHostMap, listen.port);

  const config: MeshConfig = {
    pki: readPki(r),
    staticHostMap,
    lighthouse,
    listen,
    routines,
    punchy: readPunchy(r),
    cipher: readCipher(r),
    preferredRanges: readPreferredRanges(r),
    relay: readRelay(r),
    tun: readTun(r),
    logging: readLogging(r),
    stats: readStats(r),
    sshd: readSshd(r),
    handshakes: readHandshakes(r),
    firewall: readFirewall(r, routines),
    timers: readTimers(r),
    control: readControl(r),
    tcp: readTcp(r),
    portmap: readPortMap(r),
    later: readLaterReleaseKeys(r),
  };
  r.warnUnknownKeys();
  return { config, warnings: r.warnings };
}
