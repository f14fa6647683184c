// The daemon's pki section with v2 certificates (docs/certificates-v2.md, "Handshakes"): pki.ca holds v1 and v2
// CAs, pki.cert a v1 certificate, a v2 one, or both (a migration host), and pki.initiating_version picks the one
// handshakes start with (default as Nebula 1.10: 1 when a v1 certificate is held, else 2). Every refusal names its
// key.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MeshConfig } from '../../pkg/config/index.js';
import { loadPki, PkiError } from '../../pkg/daemon/pki.js';
import { NO_IPV4_NET } from '../../pkg/handshake/identity.js';
import { parseIpv4 } from '../../pkg/ip/ipv4.js';
import { formatIpPrefix } from '../../pkg/ip/prefix.js';
import { makeHostCertV2, makeTestCaV2 } from './helpers/pki-v2.js';
import { makeHostCert, makeTestCa } from './helpers/pki.js';

function configWith(ca: string, cert: string, key: string, initiatingVersion?: 1 | 2): MeshConfig {
  return { pki: { ca, cert, key, blocklist: [], initiatingVersion } } as unknown as MeshConfig;
}

function refused(config: MeshConfig, pattern: RegExp): void {
  assert.throws(
    () => loadPki(config, '/'),
    (e: unknown) => e instanceof PkiError && pattern.test(e.message),
  );
}

describe('daemon pki with v2 certificates', () => {
  const ca = makeTestCa('v1 ca');
  const ca2 = makeTestCaV2('v2 ca');
  const host = makeHostCert(ca, { name: 'h', ip: '10.70.0.1/24' });
  const keys = { publicKey: host.cert.details.publicKey, privateKey: host.privateKey };
  const host2 = makeHostCertV2(ca2, { name: 'h', networks: ['10.70.0.1/24', 'fd00::1/64'], keys });

  it('loads v1 and v2 CAs from one pki.ca, without warnings', () => {
    const pki = loadPki(configWith(ca2.pem + ca.pem, host.certPem, host.keyPem), '/');
    assert.equal(pki.caPool.cas.size, 1);
    assert.equal(pki.caPool.casV2.size, 1);
    assert.deepEqual(pki.warnings, []);
    // A CA file of v2 CAs only is a v2 network's: it loads.
    assert.equal(loadPki(configWith(ca2.pem, host2.pem, host.keyPem), '/').caPool.casV2.size, 1);
  });

  it('a migration host (v1 and v2 in pki.cert) holds both and starts with v1 unless pki.initiating_version says 2', () => {
    const pki = loadPki(configWith(ca.pem + ca2.pem, host2.pem + host.certPem, host.keyPem), '/');
    assert.deepEqual(Object.keys(pki.identity.credentials), ['1', '2']);
    assert.equal(pki.identity.initiatingVersion, 1);
    assert.equal(pki.identity.cert.details.name, 'h');
    assert.deepEqual(pki.warnings, []);
    assert.equal(
      loadPki(configWith(ca.pem + ca2.pem, host2.pem + host.certPem, host.keyPem, 2), '/').identity.initiatingVersion,
      2,
    );
  });

  it('a v2-only host starts with v2 and takes its overlay address from the first IPv4 network', () => {
    const pki = loadPki(configWith(ca2.pem, host2.pem, host.keyPem), '/');
    assert.equal(pki.identity.initiatingVersion, 2);
    assert.deepEqual(Object.keys(pki.identity.credentials), ['2']);
    assert.equal(pki.identity.vpnIp, host.cert.details.ips[0].ip);
    assert.equal(pki.identity.vpnNet.mask, 0xffffff00);
  });

  it('a v6-only v2 host loads: its IPv6 network is its overlay address, and no IPv4 network matches anything', () => {
    const v6only = makeHostCertV2(ca2, { name: 'h6', networks: ['fd00::1/64'], keys });
    const id = loadPki(configWith(ca2.pem, v6only.pem, host.keyPem), '/').identity;
    assert.equal(id.vpnIp, 'fd00::1');
    assert.deepEqual(id.vpnAddrs, ['fd00::1']);
    assert.deepEqual(id.vpnNetworks.map(formatIpPrefix), ['fd00::1/64']);
    assert.deepEqual(id.vpnNet, NO_IPV4_NET);
    const dual = makeHostCertV2(ca2, { name: 'hd', networks: ['fd00::1/64', '10.70.0.1/24'], keys });
    const idDual = loadPki(configWith(ca2.pem, dual.pem, host.keyPem), '/').identity;
    // A v2 certificate holds its networks sorted (IPv4 before IPv6, as Nebula signs them): the IPv4 one is primary.
    assert.deepEqual(idDual.vpnAddrs, [parseIpv4('10.70.0.1'), 'fd00::1']);
    assert.equal(idDual.vpnIp, parseIpv4('10.70.0.1'));
    assert.equal(idDual.vpnNet.mask, 0xffffff00, 'the IPv4 fast path keeps the IPv4 network');
  });

  it('refuses, naming the key: initiating version 1 without a v1 certificate, a wrong key', () => {
    refused(configWith(ca2.pem, host2.pem, host.keyPem, 1), /^pki\.initiating_version: .*v1 certificate/);
    const other = makeHostCert(ca, { ip: '10.70.0.1/24' });
    refused(configWith(ca2.pem, host2.pem, other.keyPem), /^pki\.key .*does not match.*v2 certificate/);
  });

  it('refuses two certificates of one version, a CA as host certificate, and v1/v2 certificates that disagree', () => {
    refused(configWith(ca.pem, host.certPem + host.certPem, host.keyPem), /^pki\.cert .*more than one v1 certificate/);
    refused(configWith(ca.pem, ca2.pem + host.certPem, host.keyPem), /^pki\.cert .*v2 certificate is a CA/);
    const elsewhere = makeHostCertV2(ca2, { name: 'h', networks: ['10.70.0.9/24'], keys });
    refused(
      configWith(ca.pem + ca2.pem, elsewhere.pem + host.certPem, host.keyPem),
      /^pki\.cert .*different first networks/,
    );
  });

  it('refuses a pki.ca without a valid CA, naming pki.ca', () => {
    refused(
      configWith(
        '-----BEGIN NEBULA CERTIFICATE V2-----\n-----END NEBULA CERTIFICATE V2-----\n',
        host.certPem,
        host.keyPem,
      ),
      /^pki\.ca/,
    );
  });
});
