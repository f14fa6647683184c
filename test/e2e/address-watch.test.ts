import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Lab } from './lab/lab.js';
import { loadNote } from './lab/load.js';

// The address watch hears of an address change from the kernel at once (a netlink socket in the addon), well before
// its 2 s fallback poll, and without running an `ip monitor` child process. A carrier lost or regained changes the
// address set too (node lists only the addresses of interfaces that are up and running) without any address event:
// it is reported from a link event, by netlink and by the `ip monitor` fallback alike, not by the 60 s backstop poll.

const WATCH_JS = fileURLToPath(new URL('../../pkg/udp/address-watch.js', import.meta.url));

const WATCHER = `
import { networkInterfaces } from 'node:os';
import { AddressWatch } from ${JSON.stringify(WATCH_JS)};
const addresses = () => Object.values(networkInterfaces()).flat().filter((a) => a.family === 'IPv4' && !a.internal).map((a) => a.address);
const watch = new AddressWatch({ snapshot: addresses, addressLost: () => console.log('lost'), addressesChanged: (now, moved) => console.log('change ' + now.join(',') + (moved ? ' moved' : '')) });
// 'monitor': the fallback used without the addon (start() prefers netlink), with the backstop poll start() would set.
if (process.argv[1] === 'monitor') {
  watch.startMonitor();
  watch.pollEvery(60000);
} else watch.start();
console.log('ready ' + watch.pollIntervalMs);
setTimeout(() => { watch.stop(); process.exit(0); }, 20000);
`;

test('an address added and removed is reported within a second, from netlink, with no child process', async (t) => {
  const lab = await Lab.create(t);
  const host = await lab.addHost('w');
  await lab.exec(host, 'ip', ['link', 'add', 'w0', 'type', 'veth', 'peer', 'name', 'w1']); // no dummy module here
  // Both ends up: node lists only the addresses of interfaces that are up and running.
  for (const end of ['w0', 'w1']) await lab.exec(host, 'ip', ['link', 'set', end, 'up']);
  const watcher = await lab.spawn(host, process.execPath, ['--input-type=module', '-e', WATCHER]);
  await watcher.waitForLog(/^ready /m, 5000);

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
  assert.ok(added < 1000 && removed < 1000, `${added} ms, ${removed} ms (${loadNote()})`);
  assert.match(watcher.log(), /^lost$/m, 'traffic is held the moment the address goes');
});

for (const source of ['netlink', 'monitor']) {
  test(`a carrier lost and regained is reported within a second, from ${source}'s link events`, async (t) => {
    const lab = await Lab.create(t);
    const host = await lab.addHost('c');
    await lab.exec(host, 'ip', ['link', 'add', 'c0', 'type', 'veth', 'peer', 'name', 'c1']);
    await lab.exec(host, 'ip', ['addr', 'add', '198.18.98.1/24', 'dev', 'c0']);
    for (const end of ['c0', 'c1']) await lab.exec(host, 'ip', ['link', 'set', end, 'up']);
    const watcher = await lab.spawn(host, process.execPath, ['--input-type=module', '-e', WATCHER, source]);
    // The poll is the 60 s backstop: a report within a second came from an event.
    await watcher.waitForLog(/^ready 60000$/m, 5000);
    // An address event first: once it is reported, the event source is listening (an `ip` child takes a moment).
    await lab.exec(host, 'ip', ['addr', 'add', '198.18.98.2/24', 'dev', 'c0']);
    await watcher.waitForLog(/^change 198\.18\.98\.1,198\.18\.98\.2$/m, 2000);

    // The peer end going down takes c0's carrier: its address stays configured, no address event is sent.
    let since = Date.now();
    let from = watcher.logOffset();
    await lab.exec(host, 'ip', ['link', 'set', 'c1', 'down']);
    await watcher.waitForLog(/^change {2}moved$/m, 2000, from);
    const lost = Date.now() - since;

    since = Date.now();
    from = watcher.logOffset();
    await lab.exec(host, 'ip', ['link', 'set', 'c1', 'up']);
    await watcher.waitForLog(/^change 198\.18\.98\.1,198\.18\.98\.2$/m, 2000, from);
    const regained = Date.now() - since;
    t.diagnostic(`${source}: reported after ${lost} ms (carrier lost) and ${regained} ms (regained)`);
    assert.ok(lost < 1000 && regained < 1000, `${lost} ms, ${regained} ms (${loadNote()})`);
    assert.match(watcher.log(), /^lost$/m, 'traffic is held the moment the carrier goes');
  });
}
