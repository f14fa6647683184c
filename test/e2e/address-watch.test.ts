import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Lab } from './lab/lab.js';

// The address watch hears of an address change from the kernel at once (a netlink socket in the addon), well before
// its 2 s fallback poll, and without running an `ip monitor` child process.

const WATCH_JS = fileURLToPath(new URL('../../pkg/udp/address-watch.js', import.meta.url));

const WATCHER = `
import { networkInterfaces } from 'node:os';
import { AddressWatch } from ${JSON.stringify(WATCH_JS)};
const addresses = () => Object.values(networkInterfaces()).flat().filter((a) => a.family === 'IPv4' && !a.internal).map((a) => a.address);
const watch = new AddressWatch({ snapshot: addresses, addressLost: () => console.log('lost'), addressesChanged: (now, moved) => console.log('change ' + now.join(',') + (moved ? ' moved' : '')) });
watch.start();
console.log('ready');
setTimeout(() => { watch.stop(); process.exit(0); }, 20000);
`;

test('an address added and removed is reported within a second, from netlink, with no child process', async (t) => {
  const lab = await Lab.create(t);
  const host = await lab.addHost('w');
  await lab.exec(host, 'ip', ['link', 'add', 'w0', 'type', 'veth', 'peer', 'name', 'w1']); // no dummy module here
  // Both ends up: node lists only the addresses of interfaces that are up and running.
  for (const end of ['w0', 'w1']) await lab.exec(host, 'ip', ['link', 'set', end, 'up']);
  const watcher = await lab.spawn(host, process.execPath, ['--input-type=module', '-e', WATCHER]);
  await watcher.waitForLog(/^ready$/m, 5000);

  const children = readFileSync(`/proc/${watcher.pid}/task/${watcher.pid}/children`, 'utf8').trim();
  assert.equal(children, '', 'the watch started a child process');

  let since = Date.now();
  await lab.exec(host, 'ip', ['addr', 'add', '198.18.99.1/24', 'dev', 'w0']);
  await watcher.waitForLog(/^change 198\.18\.99\.1$/m, 1500);
  const added = Date.now() - since;

  since = Date.now();
  await lab.exec(host, 'ip', ['addr', 'del', '198.18.99.1/24', 'dev', 'w0']);
  await watcher.waitForLog(/^change {2}moved$/m, 1500);
  const removed = Date.now() - since;
  t.diagnostic(`reported after ${added} ms (added) and ${removed} ms (removed)`);
  // The fallback poll runs every 2 s; anything under 1 s came from an event.
  assert.ok(added < 1000 && removed < 1000, `${added} ms, ${removed} ms`);
  assert.match(watcher.log(), /^lost$/m, 'traffic is held the moment the address goes');
});
