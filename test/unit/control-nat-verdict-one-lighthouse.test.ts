// classifyNat with one lighthouse and the node's NAT tests against its second port (punchy/nat-discovery.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyNat } from '../../pkg/control/nat-verdict.js';
import { renderNetcheck } from '../../pkg/control/render-netcheck.js';
import type { LighthouseObservation } from '../../pkg/control/reports.js';
import type { NatTestResult } from '../../pkg/punchy/nat-discovery.js';
import { udpAddr } from '../../pkg/udp/addr.js';

const one: LighthouseObservation[] = [
  { vpnIp: '10.99.0.1', name: 'lh', underlay: '198.51.100.1:4242', tunnel: true, rttMs: 1, seenAs: '203.0.113.5:4242' },
];
const local = { localPort: 4242, localIps: ['192.168.1.2'] };

function natTest(over: Partial<NatTestResult>): NatTestResult {
  return {
    lighthouse: 1,
    seenMain: udpAddr('203.0.113.5', 4242),
    seenSecond: udpAddr('203.0.113.5', 4242),
    mapping: 'endpoint-independent',
    filtering: 'address-and-port-dependent',
    punchTtl: 3,
    ...over,
  };
}

describe('NAT verdict from one lighthouse with a second port', () => {
  it('takes endpoint-independent mapping, strict filtering and the punch TTL from the NAT tests', () => {
    const v = classifyNat({ ...local, observations: one, natTest: natTest({}) });
    assert.equal(v.mapping, 'endpoint-independent');
    assert.equal(v.filtering, 'address-and-port-dependent');
    assert.equal(v.punchTtl, 3);
    assert.match(v.summary.join(' '), /both ports of lh see 203\.0\.113\.5:4242/);
    assert.match(v.summary.join(' '), /outermost NAT is 2 hops away/);
    const text = renderNetcheck({
      localPort: 4242,
      localAddresses: ['192.168.1.2:4242'],
      lighthouses: one,
      verdict: v,
    });
    assert.match(text, /mapping: +endpoint-independent \(one public address for every destination\)/);
    assert.match(text, /filtering: +address-and-port-dependent \(only replies/);
    assert.match(text, /punch ttl: +3\n/);
  });

  it('calls another port at the second port a symmetric NAT', () => {
    const v = classifyNat({
      ...local,
      observations: one,
      natTest: natTest({ seenSecond: udpAddr('203.0.113.5', 61000), mapping: 'endpoint-dependent', punchTtl: null }),
    });
    assert.equal(v.mapping, 'endpoint-dependent');
    assert.match(v.summary.join(' '), /symmetric NAT/);
    assert.match(v.summary.join(' '), /203\.0\.113\.5:61000 at its second port/);
  });

  it('says filtering is address-dependent when the echo from an unused port got in', () => {
    const v = classifyNat({
      ...local,
      observations: one,
      natTest: natTest({ filtering: 'address-dependent', punchTtl: null }),
    });
    assert.equal(v.filtering, 'address-dependent');
    assert.match(v.summary.join(' '), /address-dependent or looser/);
  });

  it('still says a second lighthouse would tell when there were no NAT tests', () => {
    const v = classifyNat({ ...local, observations: one, natTest: null });
    assert.equal(v.mapping, 'unknown');
    assert.match(v.summary.join(' '), /second lighthouse/);
  });
});
