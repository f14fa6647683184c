import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyNat } from '../../pkg/control/nat-verdict.js';
import type { LighthouseObservation } from '../../pkg/control/reports.js';

function lh(name: string, seenAs: string | null, tunnel = true): LighthouseObservation {
  return { vpnIp: `10.99.0.${name.length}`, name, underlay: '198.51.100.1:4242', tunnel, rttMs: 1, seenAs };
}

const local = { localPort: 4242, localIps: ['192.168.1.2'] };

describe('NAT verdict', () => {
  it('calls one public address and port seen by two lighthouses an endpoint-independent, port-preserving NAT', () => {
    const v = classifyNat({ ...local, observations: [lh('lh1', '203.0.113.5:4242'), lh('lh2', '203.0.113.5:4242')] });
    assert.equal(v.udpWorks, true);
    assert.equal(v.behindNat, true);
    assert.equal(v.mapping, 'endpoint-independent');
    assert.equal(v.portPreserving, true);
    assert.deepEqual(v.publicAddresses, ['203.0.113.5:4242']);
    assert.match(v.summary.join(' '), /hole punching should work/i);
  });

  it('calls different ports at two lighthouses a symmetric NAT and suggests a relay', () => {
    const v = classifyNat({ ...local, observations: [lh('lh1', '203.0.113.5:40001'), lh('lh2', '203.0.113.5:51234')] });
    assert.equal(v.mapping, 'endpoint-dependent');
    assert.equal(v.portPreserving, false);
    assert.match(v.summary.join(' '), /symmetric NAT/);
    assert.match(v.summary.join(' '), /relay/);
  });

  it('sees no NAT when the lighthouses see one of our own addresses', () => {
    const v = classifyNat({ ...local, observations: [lh('lh1', '192.168.1.2:4242')] });
    assert.equal(v.behindNat, false);
    assert.equal(v.mapping, 'endpoint-independent');
    assert.match(v.summary.join(' '), /No NAT/);
  });

  it('cannot tell the mapping from one lighthouse behind a NAT, and says a second one would', () => {
    const v = classifyNat({ ...local, observations: [lh('lh1', '203.0.113.5:4242')] });
    assert.equal(v.behindNat, true);
    assert.equal(v.mapping, 'unknown');
    assert.match(v.summary.join(' '), /second lighthouse/);
  });

  it('says UDP may be blocked when no lighthouse could be reached', () => {
    const v = classifyNat({ ...local, observations: [lh('lh1', null, false), lh('lh2', null, false)] });
    assert.equal(v.udpWorks, false);
    assert.match(v.summary.join(' '), /blocked/);
  });

  it('reports an unknown NAT type when reachable lighthouses do not answer the question (Nebula lighthouses)', () => {
    const v = classifyNat({ ...local, observations: [lh('lh1', null)] });
    assert.equal(v.udpWorks, true);
    assert.equal(v.behindNat, null);
    assert.equal(v.mapping, 'unknown');
  });

  it('has nothing to say without lighthouses', () => {
    const v = classifyNat({ ...local, observations: [] });
    assert.equal(v.udpWorks, null);
    assert.match(v.summary[0], /No lighthouse is configured/);
  });
});
