// The config of a daemon a test starts as a process (`mesh -config`): on loopback at a port the kernel picks, with a
// control socket, no TUN, no port mapping, no lighthouses, allowing everything, its certificate from a test CA.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configDir } from './config-dir.js';
import { makeHostCert, makeTestCa } from './pki.js';

/**
 * Writes the CA, certificate, key and config.yml (logging at `logLevel`) into a fresh directory, removed after the
 * test, with `files` beside them; returns the directory and the config's path. `port`: the UDP port (default 0, the
 * kernel's pick; a lighthouse needs a fixed one). `extraConfig`: more top-level YAML lines (e.g. `lighthouse:
 * { am_lighthouse: true }`).
 */
export function loopbackDaemonConfig(
  t: { after(fn: () => unknown): void },
  o: { name: string; logLevel: string; files?: Record<string, string>; port?: number; extraConfig?: string },
): { dir: string; config: string } {
  const ca = makeTestCa();
  const host = makeHostCert(ca, { name: o.name, ip: '10.99.0.1/24' });
  const dir = configDir(t, { 'ca.crt': ca.pem, 'host.crt': host.certPem, 'host.key': host.keyPem, ...o.files });
  const any = '[{ port: any, proto: any, host: any }]';
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    `pki: { ca: ${join(dir, 'ca.crt')}, cert: ${join(dir, 'host.crt')}, key: ${join(dir, 'host.key')} }\n` +
      `listen: { host: 127.0.0.1, port: ${o.port ?? 0} }\ntun: { disabled: true }\nportmap: { enabled: false }\n` +
      `control: { socket: ${join(dir, 'control.sock')} }\nlogging: { level: ${o.logLevel} }\n` +
      `firewall: { outbound: ${any}, inbound: ${any} }\n` +
      (o.extraConfig === undefined ? '' : `${o.extraConfig}\n`),
  );
  return { dir, config };
}
