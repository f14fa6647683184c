// How long the punchy keep-alives hold the thread at N tunnels: one synchronous pass over every tunnel (as the
// daemon sent them until pkg/punchy/spread-rounds.ts) against the spread rounds, on the daemon's own UDP socket
// (batched through the addon when it loads) sending to a loopback sink. A turn is measured from its first send to
// the setImmediate after it, so the batched flush at the end of the turn counts. Both run over one real 10 s interval.
// Run: `node dist/bench/keepalive-stall.js [tunnels]` (default 10000).

import { createSocket } from 'node:dgram';
import { execSync } from 'node:child_process';

import { systemClock } from '../pkg/clock/clock.js';
import { validateConfig } from '../pkg/config/index.js';
import { openUnderlay } from '../pkg/daemon/daemon.js';
import type { HostInfo } from '../pkg/hostmap/hostinfo.js';
import type { HostMap } from '../pkg/hostmap/hostmap.js';
import { Logger } from '../pkg/log/logger.js';
import { PUNCH_INTERVAL_MS, punchAll, punchHost } from '../pkg/punchy/punchy.js';
import { SpreadRounds } from '../pkg/punchy/spread-rounds.js';
import { udpAddr } from '../pkg/udp/addr.js';

const count = Number(process.argv[2] ?? 10_000);

async function main(): Promise<void> {
  const sink = createSocket('udp4');
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  sink.on('message', () => undefined);
  const { config } = validateConfig(
    { listen: { host: '127.0.0.1', port: 0 }, pki: { ca: 'x', cert: 'x', key: 'x' } },
    undefined,
    'bench.yml',
  );
  const udp = await openUnderlay(config.listen, new Logger('error', 'text', () => undefined, true));
  const remote = udpAddr('127.0.0.1', sink.address().port);
  const byVpnIp = new Map<number, HostInfo>();
  for (let i = 0; i < count; i++) byVpnIp.set(i + 1, { vpnIp: i + 1, remote, conn: undefined } as unknown as HostInfo);
  const hostmap = { byVpnIp } as unknown as HostMap;

  const turnUntilIdle = (start: number): Promise<number> =>
    new Promise((r) => setImmediate(() => r(performance.now() - start)));

  // One pass, three times (the first runs colder code).
  const passes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    punchAll(hostmap, udp);
    passes.push(await turnUntilIdle(t));
    await new Promise((r) => setTimeout(r, 200));
  }

  // The spread rounds over one interval: every turn that sent keep-alives, timed.
  const turns: number[] = [];
  let sent = 0;
  let turnStart = -1;
  const rounds = new SpreadRounds<HostInfo>({
    clock: systemClock,
    intervalMs: PUNCH_INTERVAL_MS,
    items: () => byVpnIp.values(),
    visit: (h) => {
      if (turnStart < 0) {
        turnStart = performance.now();
        void turnUntilIdle(turnStart).then((ms) => {
          turns.push(ms);
          turnStart = -1;
        });
      }
      sent += punchHost(h, udp);
    },
  });
  rounds.start();
  await new Promise((r) => setTimeout(r, 2 * PUNCH_INTERVAL_MS + 500));
  rounds.stop();
  turns.sort((a, b) => a - b);
  const load = execSync('uptime')
    .toString()
    .trim()
    .replace(/^.*load/, 'load');
  console.log(`${count} tunnels on ${udp.constructor.name}, ${load}`);
  console.log(`one pass: ${passes.map((ms) => ms.toFixed(1)).join(', ')} ms`);
  console.log(
    `spread: ${sent} keep-alives in ${turns.length} turns over one interval; turn median ${turns[turns.length >> 1].toFixed(2)} ms, max ${turns[turns.length - 1].toFixed(2)} ms`,
  );
  await udp.close();
  sink.close();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
