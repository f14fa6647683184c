// A first contact through a lighthouse, run once in process between throwaway in-memory nodes after start-up, so a
// running daemon's first real contact runs code V8 has already seen (issue 19: without it, the contact's ~10 ms of
// CPU was mostly the interpreter collecting type feedback on first call). A lighthouse and two nodes with their own
// CA, certificates, hostmaps, counters and firewalls, on a private MemoryNetwork with MemoryTuns: `a` queries the
// lighthouse for `b`, handshakes and exchanges a few packets. Nothing is sent on a real socket or TUN and nothing is
// left in the real node: all three are stopped before this resolves. It costs
// ~19 ms of CPU, once per process.

import {
  CaPool,
  certificateToPem,
  encodePem,
  fingerprint,
  generateEd25519KeyPair,
  generateX25519KeyPair,
  signCertificate,
  X25519_PRIVATE_KEY_BANNER,
  type NebulaCertificate,
} from '../cert/index.js';
import { after, type Clock } from '../clock/clock.js';
import { validateConfig } from '../config/index.js';
import { Firewall, parseFirewallRules } from '../firewall/firewall.js';
import { localIdentity } from '../handshake/identity.js';
import { parseCidr, parseIpv4 } from '../ip/ipv4.js';
import type { VpnIp } from '../ip/vpn-ip.js';
import { Logger } from '../log/logger.js';
import { MemoryTun } from '../tun/memory.js';
import { MemoryNetwork } from '../udp/memory-udp.js';
import { localNets } from './firewall-setup.js';
import { MeshNode } from './node.js';
import { warmUpPacket } from './warm-up-packets.js';
import { YieldingPacer } from './warm-up-pacer.js';
import type { RealDataPath } from './warm-up-schedule.js';
import { resolveStaticHosts } from './static-hosts.js';

const HOUR = 3600;
/**
 * Overlay and underlay addresses of the throwaway nodes: they exist only on the private MemoryNetwork. `a` finds
 * `b` through the lighthouse, as a real first contact does: query, answer, punch notification, handshake.
 */
const LH = { vpnIp: '100.127.255.3', underlay: '192.0.2.3' } as const;
const PAIR = [
  { vpnIp: '100.127.255.1', underlay: '192.0.2.1' },
  { vpnIp: '100.127.255.2', underlay: '192.0.2.2' },
] as const;
type Role = typeof LH | (typeof PAIR)[number];
const PORT = 4242;
/**
 * Data packets each way after the handshake: the first ones a real contact's queued packet and its reply take, of
 * each kind a contact starts with (warm-up-packets.ts).
 */
const DATA_PACKETS = 4;
/** The warm-up gives up (and stops the pair) after this long: it is an optimisation, never a wait. */
const TIMEOUT_MS = 2000;
/** A real data path that never carries anything (a warm-up run on its own, as in tests). */
const NO_REAL_PATH: RealDataPath = { quietFor: () => true };

interface Throwaway {
  node: MeshNode;
  tun: MemoryTun;
}

function hostCert(
  caKey: Uint8Array,
  ca: NebulaCertificate,
  vpnIp: string,
): { cert: NebulaCertificate; key: Uint8Array } {
  const keys = generateX25519KeyPair();
  const now = Math.floor(Date.now() / 1000);
  const cert = signCertificate(
    {
      name: `warm-up ${vpnIp}`,
      ips: [parseCidr(`${vpnIp}/30`)],
      subnets: [],
      groups: [],
      notBefore: now - HOUR,
      notAfter: now + HOUR,
      publicKey: keys.publicKey,
      isCA: false,
      issuer: fingerprint(ca),
    },
    caKey,
  );
  return { cert, key: keys.privateKey };
}

async function startThrowaway(
  net: MemoryNetwork,
  ca: NebulaCertificate,
  caKey: Uint8Array,
  self: Role,
  clock: Clock,
): Promise<Throwaway> {
  const { cert, key } = hostCert(caKey, ca, self.vpnIp);
  const { config } = validateConfig(
    {
      pki: {
        ca: certificateToPem(ca),
        cert: certificateToPem(cert),
        key: encodePem(X25519_PRIVATE_KEY_BANNER, key),
      },
      static_host_map: self === LH ? {} : { [LH.vpnIp]: [`${LH.underlay}:${PORT}`] },
      // Only the memory address is reported: the host's own interface addresses mean nothing on the MemoryNetwork.
      lighthouse:
        self === LH
          ? { am_lighthouse: true }
          : {
              hosts: [LH.vpnIp],
              advertise_addrs: [`${self.underlay}:${PORT}`],
              local_allow_list: { '0.0.0.0/0': false, '::/0': false },
            },
      listen: { host: '0.0.0.0', port: PORT },
      firewall: {
        outbound: [{ port: 'any', proto: 'any', host: 'any' }],
        inbound: [{ port: 'any', proto: 'any', host: 'any' }],
      },
      logging: { level: 'error' },
      portmap: { enabled: false },
    },
    undefined,
    'warm-up.yml',
  );
  const caPool = new CaPool();
  caPool.addCa(ca);
  const pki = { caPool, identity: localIdentity(cert, key), warnings: [] };
  const { vpnNetworks, unsafeNetworks } = pki.identity;
  const firewall = new Firewall(parseFirewallRules(config.firewall), {
    clock,
    localNets: localNets(pki),
    vpnNetworks,
    unsafeNetworks,
  });
  const tun = new MemoryTun({ name: 'warm-up', poison: false });
  const node = await MeshNode.start({
    config,
    pki,
    firewall,
    staticHosts: await resolveStaticHosts(config.staticHostMap, vpnNetworks),
    clock,
    log: new Logger('error', 'text', () => {}, true),
    udp: net.bind(self.underlay, PORT),
    tun,
    watchAddresses: false,
    localNetworks: () => [],
  });
  return { node, tun };
}

/** Resolves when `node` has a tunnel to `vpnIp`. */
function tunnelUp(node: MeshNode, vpnIp: string): Promise<void> {
  const ip = parseIpv4(vpnIp) as VpnIp;
  if (node.hostmap.get(ip)) return Promise.resolve();
  return new Promise((resolve) => {
    const off = node.hostmap.onInstalled(() => {
      if (!node.hostmap.get(ip)) return;
      off();
      resolve();
    });
  });
}

/** Resolves when `tun` has had `count` packets written, or rejects after the timeout. */
function written(tun: MemoryTun, count: number, timeout: Promise<never>): Promise<void> {
  const done = new Promise<void>((resolve) => {
    if (tun.written.length >= count) resolve();
    else tun.onWrite(() => tun.written.length >= count && resolve());
  });
  return Promise.race([done, timeout]);
}

/** Runs the warm-up; resolves once both throwaway nodes are stopped, whether it completed or not. */
export async function warmUp(clock: Clock, realPath: RealDataPath = NO_REAL_PATH): Promise<void> {
  const ca = generateEd25519KeyPair();
  const now = Math.floor(Date.now() / 1000);
  const caCert = signCertificate(
    {
      name: 'warm-up CA',
      ips: [],
      subnets: [],
      groups: [],
      notBefore: now - HOUR,
      notAfter: now + HOUR,
      publicKey: ca.publicKey,
      isCA: true,
      issuer: '',
    },
    ca.privateKey,
  );
  const pacer = new YieldingPacer(clock, realPath);
  const net = new MemoryNetwork(pacer);
  const started: Throwaway[] = [];
  let cancelTimeout = (): void => {};
  const timeout = new Promise<never>((_, reject) => {
    cancelTimeout = after(clock, TIMEOUT_MS, () => reject(new Error('warm-up timed out')));
  });
  timeout.catch(() => {});
  try {
    started.push(await startThrowaway(net, caCert, ca.privateKey, LH, clock));
    const a = await startThrowaway(net, caCert, ca.privateKey, PAIR[0], clock);
    started.push(a);
    const b = await startThrowaway(net, caCert, ca.privateKey, PAIR[1], clock);
    started.push(b);
    await Promise.race([Promise.all([a, b].map((n) => tunnelUp(n.node, LH.vpnIp))), timeout]);
    // The host updates that follow the lighthouse handshakes: a's query must find b. Each datagram takes its own
    // turn (YieldingPacer), and more while the real node is busy; the timeout bounds the wait.
    const lighthouse = started[0].node.lighthouseServer;
    const bIp = parseIpv4(PAIR[1].vpnIp) as VpnIp;
    while ((lighthouse?.reportedOf(bIp).length ?? 0) === 0) await Promise.race([pacer.nextArrival(), timeout]);
    for (let i = 0; i < DATA_PACKETS; i++) {
      a.tun.inject(warmUpPacket(PAIR[0].vpnIp, PAIR[1].vpnIp, i, false));
      await written(b.tun, i + 1, timeout);
      b.tun.inject(warmUpPacket(PAIR[1].vpnIp, PAIR[0].vpnIp, i, true));
      await written(a.tun, i + 1, timeout);
    }
  } finally {
    cancelTimeout();
    pacer.close();
    await Promise.all(started.map((t) => t.node.stop()));
  }
}
