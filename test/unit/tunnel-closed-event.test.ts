import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { HostInfo } from '../../pkg/hostmap/hostinfo.js';
import { HostMap } from '../../pkg/hostmap/hostmap.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { parseIpPrefix } from '../../pkg/ip/prefix.js';
import type { VpnIp } from '../../pkg/ip/vpn-ip.js';
import { LighthouseClient } from '../../pkg/lighthouse/client.js';
import { MetaType } from '../../pkg/lighthouse/meta.js';
import { LighthouseServer } from '../../pkg/lighthouse/server.js';
import { Counters } from '../../pkg/metrics/counters.js';
import { addrKey, udpAddr } from '../../pkg/udp/addr.js';
import { relayEnv } from './helpers/relay-env.js';
import { lighthouseClientEnv } from './helpers/lighthouse-client-env.js';

// The hostmap's closed event (docs/state-machines.md, "Tunnel lifecycle"): what the lighthouse server and client
// and the relay table keep per peer goes when its tunnel is closed, through their own subscriptions, and stays when
// the tunnel is only replaced by a newer handshake.

const ip = parseIpv4;
const LH = ip('10.99.0.1');
const PEER = ip('10.99.0.3');
const PEER_V6: VpnIp = 'fd00::3';

/** A tunnel stand-in with what the hostmap indexes it by. */
function tunnel(hostmap: HostMap, vpnAddrs: VpnIp[], port = 4242): HostInfo {
  return {
    vpnIp: vpnAddrs[0],
    vpnAddrs,
    remote: udpAddr('203.0.113.3', port),
    localIndex: hostmap.allocateIndex(),
    remoteIndex: port,
  } as unknown as HostInfo;
}

function lighthouse(hostmap: HostMap) {
  const server = new LighthouseServer({
    tunnelEvents: hostmap,
    vpnNetworks: () => [parseIpPrefix('10.99.0.0/24')],
    remoteAllowed: () => true,
    hostFor: (vpnIp) => hostmap.get(vpnIp),
    send: () => {},
    counters: new Counters(),
  });
  const update = (from: HostInfo): void =>
    server.handle(from, {
      type: MetaType.HostUpdateNotification,
      vpnIp: from.vpnIp,
      addrs: [udpAddr('192.168.1.3', 4242)],
      relays: [],
    });
  return { server, update };
}

function client(hostmap: HostMap) {
  const client = new LighthouseClient(
    lighthouseClientEnv({
      tunnelEvents: hostmap,
      lighthouses: () => [LH],
      vpnAddrs: () => [ip('10.99.0.2')],
      hostFor: (vpnIp) => hostmap.get(vpnIp),
    }),
  );
  const lhTunnel = tunnel(hostmap, [LH], 1);
  hostmap.add(lhTunnel);
  const answer = (target: VpnIp): void =>
    client.handle(lhTunnel, {
      type: MetaType.HostQueryReply,
      vpnIp: target,
      addrs: [udpAddr('203.0.113.3', 4242)],
      relays: [ip('10.99.0.9')],
    });
  return { client, answer };
}

test('a closed tunnel is forgotten by the lighthouse server through the closed event', () => {
  const hostmap = new HostMap();
  const { server, update } = lighthouse(hostmap);
  const peer = tunnel(hostmap, [PEER]);
  hostmap.add(peer);
  update(peer);
  assert.deepEqual(server.reportedOf(PEER).map(addrKey), ['192.168.1.3:4242']);
  hostmap.close(peer);
  assert.deepEqual(server.reportedOf(PEER), []);
});

test('a replaced tunnel keeps what its host reported to the lighthouse server', () => {
  const hostmap = new HostMap();
  const { server, update } = lighthouse(hostmap);
  const peer = tunnel(hostmap, [PEER]);
  hostmap.add(peer);
  update(peer);
  hostmap.add(tunnel(hostmap, [PEER], 5555)); // a newer handshake
  assert.deepEqual(server.reportedOf(PEER).map(addrKey), ['192.168.1.3:4242']);
});

test('a closed dual-stack tunnel drops the lighthouse answers kept under each of its addresses', () => {
  const hostmap = new HostMap();
  const { client: lhClient, answer } = client(hostmap);
  answer(PEER);
  answer(PEER_V6);
  const peer = tunnel(hostmap, [PEER, PEER_V6]);
  hostmap.add(peer);
  assert.equal(lhClient.addressesOf(PEER).length, 1);
  assert.equal(lhClient.relaysFor(PEER_V6).length, 1);
  hostmap.close(peer);
  assert.deepEqual(lhClient.addressesOf(PEER), []);
  assert.deepEqual(lhClient.addressesOf(PEER_V6), []);
  assert.deepEqual(lhClient.relaysFor(PEER_V6), []);
});

test('a replaced tunnel keeps the lighthouse answers about its host', () => {
  const hostmap = new HostMap();
  const { client: lhClient, answer } = client(hostmap);
  answer(PEER);
  hostmap.add(tunnel(hostmap, [PEER]));
  hostmap.add(tunnel(hostmap, [PEER], 5555));
  assert.equal(lhClient.addressesOf(PEER).length, 1);
});

test('a closed hop tunnel takes its relay entries with it; a replaced one keeps them', () => {
  const R = ip('10.99.0.9');
  const env = relayEnv(ip('10.99.0.2'));
  const hop = env.addTunnel(R);
  const entry = { remoteIndex: 7, state: 'established', terminal: true, hopIp: R, peerIp: PEER } as const;
  env.manager.table.add(entry);
  env.hostmap.add(tunnel(env.hostmap, [R], 5555));
  assert.notEqual(env.manager.table.get(R, PEER), undefined, 'replaced: kept');
  env.hostmap.close(env.hostmap.get(R)!);
  assert.equal(env.manager.table.get(R, PEER), undefined, 'closed: gone');
  assert.notEqual(hop, env.hostmap.get(R));
});

test('a listener that throws does not keep the others from hearing of the close, nor the tables from dropping it', () => {
  const failures: unknown[] = [];
  const hostmap = new HostMap((e) => failures.push(e));
  const heard: HostInfo[] = [];
  hostmap.onClosed(() => {
    throw new Error('bad subscriber');
  });
  hostmap.onClosed((h) => heard.push(h));
  const peer = tunnel(hostmap, [PEER]);
  hostmap.add(peer);
  hostmap.close(peer);
  assert.deepEqual(heard, [peer]);
  assert.equal(failures.length, 1);
  assert.equal(hostmap.get(PEER), undefined);
  assert.equal(hostmap.byIndex.get(peer.localIndex), undefined);
});

test('without a failure sink a listener throw comes out once every listener ran', () => {
  const hostmap = new HostMap();
  const heard: HostInfo[] = [];
  hostmap.onClosed(() => {
    throw new Error('bad subscriber');
  });
  hostmap.onClosed((h) => heard.push(h));
  const peer = tunnel(hostmap, [PEER]);
  hostmap.add(peer);
  assert.throws(() => hostmap.close(peer), /bad subscriber/);
  assert.deepEqual(heard, [peer]);
  assert.equal(hostmap.size, 0);
});

test('closed listeners hear only closes: not a replacement, not a candidate that goes', () => {
  const hostmap = new HostMap();
  const closed: HostInfo[] = [];
  const stop = hostmap.onClosed((h) => closed.push(h));
  const first = tunnel(hostmap, [PEER]);
  hostmap.add(first);
  hostmap.addCandidate(tunnel(hostmap, [PEER], 6000));
  const second = tunnel(hostmap, [PEER], 5555);
  hostmap.add(second); // replaces `first` and ends the candidate
  assert.deepEqual(closed, []);
  hostmap.close(second);
  assert.deepEqual(closed, [second]);
  stop();
  hostmap.add(first);
  hostmap.close(first);
  assert.deepEqual(closed, [second], 'no longer told after stopping');
});
