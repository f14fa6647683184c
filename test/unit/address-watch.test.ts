import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { AddressWatch, BACKSTOP_POLL_MS, POLL_MS } from '../../pkg/udp/address-watch.js';
import { sleep, waitFor } from './helpers/wait.js';

function watch(initial: string[]) {
  let addresses = initial;
  const events: string[] = [];
  const w = new AddressWatch({
    snapshot: () => addresses,
    addressLost: () => events.push('hold'),
    addressesChanged: (now, lostAny) => events.push(`change ${now.join(',')}${lostAny ? ' moved' : ''}`),
  });
  return { w, events, set: (a: string[]) => (addresses = a) };
}

test('a netlink event that leaves the reported address set unchanged neither holds traffic nor reports a move', async () => {
  const { w, events } = watch(['198.18.0.2', '2001:db8::5']);
  w.netlinkEvent(); // an IPv6 lifetime refresh, or our own TUN address appearing (filtered out by the snapshot)
  w.netlinkEvent();
  await sleep(150);
  w.stop();
  assert.deepEqual(events, []);
});

test('a lost address holds traffic at once and reports the settled set as a move once, after the debounce', async () => {
  const { w, events, set } = watch(['198.18.0.2']);
  set([]);
  w.netlinkEvent(); // the old address goes
  assert.deepEqual(events, ['hold']);
  set(['198.18.7.9']);
  w.netlinkEvent(); // the new one arrives within the debounce
  await sleep(150);
  w.stop();
  assert.deepEqual(events, ['hold', 'hold', 'change 198.18.7.9 moved']);
});

test('an address that goes and comes back within the debounce holds traffic but is not a move', async () => {
  const { w, events, set } = watch(['198.18.0.2']);
  set([]);
  w.netlinkEvent();
  set(['198.18.0.2']);
  w.netlinkEvent();
  await sleep(150);
  w.stop();
  assert.deepEqual(events, ['hold']);
});

test('an added address (a second interface coming up) is reported without holding traffic and is not a move', async () => {
  const { w, events, set } = watch(['198.18.0.2']);
  set(['198.18.0.2', '198.18.9.9']);
  w.netlinkEvent();
  assert.deepEqual(events, []);
  await sleep(150);
  w.stop();
  assert.deepEqual(events, ['change 198.18.0.2,198.18.9.9']);
});

// An idle daemon's wake-ups: each poll lists the interfaces (~0.2 ms of CPU). While netlink (or `ip monitor`)
// reports changes the poll is only a backstop; when that source fails, the poll is all there is and runs often.
// Needs the addon or iputils' `ip`, as the daemon does. eventsLost is what the netlink socket's error callback and
// `ip monitor`'s exit call.
function eventsLost(w: AddressWatch): void {
  (w as unknown as { eventsLost(): void }).eventsLost();
}

test('with an event source the interfaces are polled once a minute; after the source fails, every 2 s', () => {
  const { w } = watch(['198.18.0.2']);
  assert.equal(w.pollIntervalMs, 0);
  w.start();
  try {
    assert.equal(w.pollIntervalMs, BACKSTOP_POLL_MS);
    eventsLost(w);
    assert.equal(w.pollIntervalMs, POLL_MS);
  } finally {
    w.stop();
  }
});

test('a stopped watch does not start polling again when its monitor exits (stop() killed it)', () => {
  const { w } = watch(['198.18.0.2']);
  w.start();
  w.stop();
  eventsLost(w);
  assert.equal(w.pollIntervalMs, BACKSTOP_POLL_MS);
});

// A carrier lost takes an interface's addresses out of the snapshot with no address event, so the `ip monitor`
// fallback must ask for link events too. This `ip` prints one line per link change only when asked for links, as
// the real one does (a carrier flip is a link message); the snapshot has already lost its address when it does.
const FAKE_IP = `#!/bin/sh
for object in "$@"; do
  if [ "$object" = link ]; then echo "3: c0: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 state DOWN"; fi
done
exec sleep 10
`;

test('the ip monitor fallback hears of a carrier lost from a link event, without waiting for the poll', async () => {
  const bin = mkdtempSync(join(tmpdir(), 'address-watch-ip-'));
  writeFileSync(join(bin, 'ip'), FAKE_IP);
  chmodSync(join(bin, 'ip'), 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path ?? ''}`;
  const { w, events, set } = watch(['198.18.0.2']);
  try {
    set([]); // the carrier went: node no longer lists the interface's address
    assert.ok((w as unknown as { startMonitor(): boolean }).startMonitor());
    await waitFor(() => events.includes('change  moved'), { timeoutMs: 1500, what: () => events.join('; ') });
    assert.deepEqual(events, ['hold', 'change  moved']);
  } finally {
    w.stop();
    process.env.PATH = path;
    rmSync(bin, { recursive: true, force: true });
  }
});
