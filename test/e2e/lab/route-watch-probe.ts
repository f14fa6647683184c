// Runs pkg/routing/system-route-watch.ts alone inside a lab namespace, against the real kernel, for the
// use_system_route_table e2e test: makes a TUN (10.1.0.1/16), then adds and later deletes `count` routes via
// 10.1.0.2 in one `ip -batch` each while the event loop is blocked (execFileSync), so the route socket overflows
// before a single read: the poll then reports an error (POLLERR) rather than data. Prints one JSON line:
// the learned table's size after the adds and after the deletes, the lost-event count and whether the watch died.
// With family 6 the TUN also gets fd00:1::1/64 and the routes are IPv6 /64s via fd00:1::2 (IPv6 must be enabled
// for new interfaces in the namespace).
//
//   ip netns exec NS node dist/test/e2e/lab/route-watch-probe.js <count> <buffer bytes> [4|6]

import { execFileSync } from 'node:child_process';
import { systemClock } from '../../../pkg/clock/clock.js';
import { parseIpPrefix } from '../../../pkg/ip/prefix.js';
import { Logger } from '../../../pkg/log/logger.js';
import { Counters } from '../../../pkg/metrics/counters.js';
import { SystemRouteWatch } from '../../../pkg/routing/system-route-watch.js';
import { SystemRouteTable } from '../../../pkg/routing/system-routes.js';

const SETTLE_MS = 2500;

async function main(): Promise<void> {
  const count = Number(process.argv[2]);
  const bufferSize = Number(process.argv[3]);
  const family = process.argv[4] === '6' ? 6 : 4;
  const table = new SystemRouteTable();
  const counters = new Counters();
  const lines: string[] = [];
  const watch = new SystemRouteWatch({
    table,
    vpnNetworks: () => [parseIpPrefix('10.1.0.0/16'), parseIpPrefix('fd00:1::/64')],
    log: new Logger('warning', 'text', (l) => lines.push(l)),
    clock: systemClock,
    counters,
  });
  watch.open(bufferSize);
  execFileSync('ip', ['tuntap', 'add', 'dev', 'probe0', 'mode', 'tun']);
  execFileSync('ip', ['addr', 'add', '10.1.0.1/16', 'dev', 'probe0']);
  if (family === 6) execFileSync('ip', ['-6', 'addr', 'add', 'fd00:1::1/64', 'dev', 'probe0', 'nodad']);
  execFileSync('ip', ['link', 'set', 'probe0', 'up']);
  watch.start('probe0');
  let adds = '';
  for (let i = 0; i < count; i++) {
    adds +=
      family === 4
        ? `route add 172.${16 + (i >> 8)}.${i & 255}.0/24 via 10.1.0.2 dev probe0\n`
        : `route add fd01:${i.toString(16)}::/64 via fd00:1::2 dev probe0\n`;
  }
  const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  execFileSync('ip', ['-batch', '-'], { input: adds });
  await settle();
  const afterAdds = table.size;
  execFileSync('ip', ['-batch', '-'], { input: adds.replaceAll('route add', 'route del') });
  await settle();
  process.stdout.write(
    `${JSON.stringify({ afterAdds, afterDels: table.size, lost: counters.get('drops', 'system-routes-lost'), watchFailed: lines.some((l) => l.includes('Route watch failed')) })}\n`,
  );
  watch.stop();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
