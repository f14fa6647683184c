// Birthday punching's sides judged by a measured mapping (punchy/birthday-policy.ts with punchy/nat-discovery.ts's
// verdict): a side's own measurement decides for it; without one, port behaviour stands in as before.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { birthdaySides, probeTarget } from '../../pkg/punchy/birthday-policy.js';
import { udpAddr } from '../../pkg/udp/addr.js';

// [seen, ...reported]: what the lighthouses' views look like.
const REWRITING = [udpAddr('203.0.113.7', 40001), udpAddr('192.168.1.2', 4242)];
const PRESERVING = [udpAddr('203.0.113.9', 4242), udpAddr('192.168.2.2', 4242)];

describe('birthday sides with measured mappings', () => {
  it('keeps the port-behaviour rule when nothing was measured', () => {
    assert.equal(birthdaySides(REWRITING, PRESERVING), 'fit');
    assert.equal(birthdaySides(PRESERVING, PRESERVING), 'not-rewriting');
    assert.equal(birthdaySides(REWRITING, REWRITING), 'not-preserving');
  });

  it('starts no birthday run from a port-rewriting NAT measured endpoint-independent (plain punching works there)', () => {
    assert.equal(birthdaySides(REWRITING, PRESERVING, { symmetric: 'endpoint-independent' }), 'not-rewriting');
  });

  it('starts one from a port-preserving NAT measured endpoint-dependent', () => {
    assert.equal(birthdaySides(PRESERVING, PRESERVING, { symmetric: 'endpoint-dependent' }), 'fit');
  });

  it('probes from a port-rewriting NAT measured endpoint-independent, and not from a preserving one measured dependent', () => {
    assert.equal(typeof probeTarget(REWRITING, REWRITING, 'endpoint-independent'), 'object');
    assert.equal(probeTarget(PRESERVING, REWRITING, 'endpoint-dependent'), 'not-our-side');
    assert.equal(typeof probeTarget(PRESERVING, REWRITING), 'object');
  });
});
