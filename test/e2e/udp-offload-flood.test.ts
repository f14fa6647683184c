// UDP through the overlay with the TUN's UDP offloads (pkg/native/offload_udp.c): the receiving daemon joins a
// batch's datagrams of one flow into one TUN write, and the kernel hands the receiving socket the same datagrams
// again. Runs of equal sizes (which join) and odd sizes (which do not) cross two real mesh daemons; every datagram
// must arrive once, in order, with its length and bytes intact, in fewer TUN writes than datagrams.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import type { Host, Lab } from './lab/lab.js';
import { Lab as LabClass } from './lab/lab.js';
import { meshImpl } from './lab/mesh-impl.js';
import { OverlayNet } from './lab/nebula.js';

const PORT = 7009;

/** Datagram i: its index in the first 4 bytes, then (i * 31 + k * 7) & 0xff at byte k. Shared by both scripts. */
const CONTENT = `
function datagram(i, size) {
  const b = Buffer.alloc(size);
  b.writeUInt32BE(i, 0);
  for (let k = 4; k < size; k++) b[k] = (i * 31 + k * 7) & 0xff;
  return b;
}
`;

/** Collects datagrams until all arrived or the time is up, then prints one JSON line. */
const RECEIVER = `${CONTENT}
const dgram = require('node:dgram');
const { port, sizes, timeoutMs, type } = JSON.parse(process.argv[1]);
const s = dgram.createSocket({ type, recvBufferSize: 8 << 20 });
const seen = new Set();
const bad = [];
let outOfOrder = 0, last = -1, duplicates = 0;
const finish = () => {
  const missing = sizes.map((_, i) => i).filter((i) => !seen.has(i));
  console.log(JSON.stringify({ received: seen.size, missing: missing.slice(0, 20), bad, outOfOrder, duplicates }));
  process.exit(0);
};
s.on('message', (m) => {
  const i = m.length >= 4 ? m.readUInt32BE(0) : -1;
  if (i < 0 || i >= sizes.length || !m.equals(datagram(i, sizes[i]))) {
    if (bad.length < 20) bad.push({ index: i, length: m.length });
    return;
  }
  if (seen.has(i)) duplicates++;
  if (i < last) outOfOrder++;
  last = i;
  seen.add(i);
  if (seen.size === sizes.length) finish();
});
s.bind(port, () => console.log('receiver listening'));
setTimeout(finish, timeoutMs);
`;

/** Sends the datagrams from one connected socket in bursts (so the daemons see batches), then exits. */
const SENDER = `${CONTENT}
const dgram = require('node:dgram');
const { ip, port, sizes, burst, type } = JSON.parse(process.argv[1]);
const s = dgram.createSocket(type);
s.connect(port, ip, async () => {
  for (let i = 0; i < sizes.length; i += burst) {
    const sends = [];
    for (let j = i; j < Math.min(i + burst, sizes.length); j++)
      sends.push(new Promise((resolve, reject) => s.send(datagram(j, sizes[j]), (e) => (e ? reject(e) : resolve()))));
    await Promise.all(sends);
    await new Promise((r) => setTimeout(r, 4));
  }
  s.close();
});
`;

/** Runs of one size (the last often shorter) between single odd sizes, from a fixed seed. */
function mixedSizes(total: number, seed: number, maxPayload: number): number[] {
  let x = seed;
  const next = (n: number): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % n;
  };
  const sizes: number[] = [];
  while (sizes.length < total) {
    const size = 4 + next(maxPayload - 3);
    const run = 1 + next(16);
    for (let k = 0; k < run && sizes.length < total; k++) sizes.push(size);
    if (next(2) === 0 && sizes.length < total) sizes.push(4 + next(size - 3)); // a shorter last one
  }
  return sizes;
}

/** Opens and closes a TUN in `host`'s namespace, as a daemon would: whether the kernel took TUN_F_USO4/6 (false
 * before Linux 6.2, or with MESH_TUN_USO=0 in the environment, which the daemons inherit too). */
async function kernelTakesUso(lab: Lab, host: Host): Promise<boolean> {
  const addon = fileURLToPath(new URL('../../pkg/native/addon.js', import.meta.url));
  const probe = `import(${JSON.stringify(pathToFileURL(addon).href)}).then(({ loadNativeAddon }) => {
    const a = loadNativeAddon();
    const t = a.tun_open('usoprobe%d');
    a.tun_close(t.fd);
    console.log(JSON.stringify({ udpOffload: t.udpOffload === true }));
  });`;
  const { stdout } = await lab.exec(host, process.execPath, ['-e', probe]);
  return (JSON.parse(stdout.trim()) as { udpOffload: boolean }).udpOffload;
}

async function tunWrites(lab: Lab, host: Host): Promise<number> {
  const { stdout } = await lab.exec(host, 'ip', ['-j', '-s', 'link', 'show', 'type', 'tun']);
  const links = JSON.parse(stdout) as { stats64: { rx: { packets: number } } }[];
  assert.equal(links.length, 1);
  return links[0].stats64.rx.packets;
}

// tun.udp_offload: false on the receiving daemon: the same flood, one TUN write per datagram.
const CASES = [
  { family: 4, udpOffload: true },
  { family: 6, udpOffload: true },
  { family: 4, udpOffload: false },
] as const;

for (const { family, udpOffload } of CASES) {
  const name = udpOffload
    ? `a UDP flood of mixed sizes crosses the overlay over IPv${family} with every datagram intact, in fewer TUN writes`
    : `with tun.udp_offload false a UDP flood over IPv${family} arrives intact, one TUN write per datagram`;
  test(name, async (t) => {
    const lab = await LabClass.create(t);
    const [h1, h2] = await lab.flat(2);
    const net = await OverlayNet.create(lab, { ipv6: family === 6 });
    const vpn1 = '10.99.0.1';
    const vpn2 = '10.99.0.2';
    await net.start(h1!, { name: 'one', impl: meshImpl, config: { static_host_map: { [vpn2]: [`${h2!.ip}:4242`] } } });
    const two = await net.start(h2!, {
      name: 'two',
      impl: meshImpl,
      config: { static_host_map: { [vpn1]: [`${h1!.ip}:4242`] }, tun: { udp_offload: udpOffload } },
    });
    const target = family === 6 ? two.vpnIp6! : vpn2;
    // The tunnel first (over IPv4, as the static host map names it), then the target's family answering.
    assert.ok((await lab.ping(h1!, vpn2, { count: 1, timeoutSec: 5 })).ok, lab.logTails());
    const warm = await lab.ping(h1!, target, { count: 3, timeoutSec: 5 });
    assert.ok(warm.rttMs.length > 0, lab.logTails());

    // The overlay MTU less the IP and UDP headers.
    const sizes = mixedSizes(600, 0x5eed + family, 1300 - (family === 6 ? 48 : 28));
    const type = family === 6 ? 'udp6' : 'udp4';
    const receiver = await lab.spawn(h2!, process.execPath, [
      '-e',
      RECEIVER,
      JSON.stringify({ port: PORT, sizes, timeoutMs: 15_000, type }),
    ]);
    await receiver.waitForLog(/receiver listening/, 5000);
    const writesBefore = await tunWrites(lab, h2!);
    const args = JSON.stringify({ ip: target, port: PORT, sizes, burst: 48, type });
    await lab.exec(h1!, process.execPath, ['-e', SENDER, args], { timeoutMs: 20_000 });
    const line = await receiver.waitForLog(/^\{.*\}$/m, 20_000);
    const writes = (await tunWrites(lab, h2!)) - writesBefore;
    const report = JSON.parse(line[0]) as {
      received: number;
      missing: number[];
      bad: unknown[];
      outOfOrder: number;
      duplicates: number;
    };
    t.diagnostic(`${report.received} of ${sizes.length} datagrams in ${writes} TUN writes`);
    assert.deepEqual(report.bad, [], 'datagrams that arrived altered');
    assert.equal(report.duplicates, 0);
    assert.equal(report.outOfOrder, 0);
    assert.deepEqual(report.missing, [], `datagrams that never arrived\n${lab.logTails()}`);
    // Intact and in order either way; joined only where the receiving daemon's kernel took the UDP offloads.
    if (!udpOffload) {
      assert.equal(writes, sizes.length, 'tun.udp_offload false: every datagram its own TUN write');
      return;
    }
    if (!(await kernelTakesUso(lab, h2!))) {
      t.skip('the kernel refuses TUN_F_USO4/6 (Linux < 6.2) or MESH_TUN_USO=0: datagrams are written one by one');
      return;
    }
    assert.ok(writes < sizes.length, `${writes} TUN writes for ${sizes.length} datagrams: nothing was joined`);
  });
}
