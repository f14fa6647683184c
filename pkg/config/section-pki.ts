// pki: where this node's CA bundle, certificate and key come from, and which certificates are refused.

import { ConfigErrorCode } from './errors.js';
import type { PkiConfig } from './mesh-config.js';
import type { ConfigReader } from './reader.js';
import { readBool, readInt, readString, readStringList } from './typed-values.js';

export function readPki(r: ConfigReader): PkiConfig {
  const required = (key: 'ca' | 'cert' | 'key'): string => {
    const value = readString(r, ['pki', key], '');
    if (value.trim() === '') {
      throw r.error(ConfigErrorCode.missing, ['pki', key], 'required: a file path or inline PEM');
    }
    return value;
  };

  const blocklist = readStringList(r, ['pki', 'blocklist']);
  const deprecated = readStringList(r, ['pki', 'blacklist']);
  if (deprecated.length > 0) r.warn(['pki', 'blacklist'], 'deprecated, use pki.blocklist');
  for (const fp of deprecated) if (!blocklist.includes(fp)) blocklist.push(fp);

  return {
    ca: required('ca'),
    cert: required('cert'),
    key: required('key'),
    blocklist,
    // true since Nebula 1.8 (false in 1.6-1.7): a tunnel whose peer certificate expires or stops verifying closes.
    disconnectInvalid: readBool(r, ['pki', 'disconnect_invalid'], true),
    initiatingVersion: r.has(['pki', 'initiating_version'])
      ? (readInt(r, ['pki', 'initiating_version'], 1, 1, 2) as 1 | 2)
      : undefined,
  };
}
