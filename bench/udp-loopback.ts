// Datagrams per second through the addon's batched UDP on loopback, one process: sendmmsg bursts of 64 x 1300 bytes
// into a recvmmsg poll, for 1 s. Moved out of the unit suite (a timed loop there could only assert "something
// arrived"); run it with `node dist/bench/udp-loopback.js`.

import { loadNativeAddon, UDP_META_WORDS } from '../pkg/native/addon.js';

const LOOPBACK = 0x7f000001;
const W = UDP_META_WORDS;

async function main(): Promise<void> {
  const addon = loadNativeAddon();
  const a = addon.udp_open('127.0.0.1', 0);
  const b = addon.udp_open('127.0.0.1', 0);
  addon.udp_set_buffers(b.fd, 8 << 20, 0);
  try {
    const size = 1300;
    const buf = new Uint8Array(64 * size);
    const meta = new Uint32Array(64 * W);
    for (let i = 0; i < 64; i++) meta.set([i * size, size, 4, b.port, LOOPBACK], i * W);
    let got = 0;
    let batches = 0;
    const handle = addon.udp_poll_start(b.fd, new Uint8Array(64 * 2048), new Uint32Array(64 * W), 2048, (_e, n) => {
      got += n;
      batches++;
    });
    let sent = 0;
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      const burst = (): void => {
        for (let k = 0; k < 8; k++) sent += addon.udp_sendmmsg(a.fd, buf, meta, 64);
        if (performance.now() - t0 < 1000) setImmediate(burst);
        else resolve();
      };
      burst();
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    addon.udp_poll_stop(handle);
    const ms = performance.now() - t0;
    console.log(
      `udp loopback, one process: ${Math.round((sent / ms) * 1000)} datagrams/s sent, ${Math.round((got / ms) * 1000)}/s received ` +
        `(${size} bytes, mean batch ${(got / Math.max(1, batches)).toFixed(1)})`,
    );
  } finally {
    addon.udp_close(a.fd);
    addon.udp_close(b.fd);
  }
}

await main();
