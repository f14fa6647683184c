// The port-mapping wire formats: PCP MAP (RFC 6887 §11) and NAT-PMP (RFC 6886 §3) byte for byte, the UPnP-IGD texts
// miniupnpd sends, the default gateway from /proc/net/route, and the rule that decides whether to advertise.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeMapping } from '../../pkg/portmap/advertise.js';
import { parseDefaultGateway } from '../../pkg/portmap/gateway.js';
import { encodeNatPmpAddressRequest, encodeNatPmpMapUdp, parseNatPmpResponse } from '../../pkg/portmap/natpmp-wire.js';
import { encodePcpMap, parsePcpMapResponse } from '../../pkg/portmap/pcp-wire.js';
import type { PortMapping } from '../../pkg/portmap/types.js';
import {
  encodeSoapRequest,
  parseIgdDescription,
  parseSoapResponse,
  parseSsdpResponse,
} from '../../pkg/portmap/upnp-wire.js';

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s/g, ''), 'hex'));
const NONCE = Uint8Array.from({ length: 12 }, (_, i) => i + 1);

test('PCP MAP request: version 2, opcode 1, lifetime, IPv4-mapped client address, nonce, UDP, ports, no external preference', () => {
  const b = encodePcpMap({
    lifetimeSec: 3600,
    clientIp: '192.168.1.2',
    nonce: NONCE,
    internalPort: 4242,
    suggestedPort: 4242,
    suggestedIp: '0.0.0.0',
  });
  assert.equal(
    hexOf(b),
    '02010000' +
      '00000e10' +
      '00000000000000000000ffffc0a80102' +
      '0102030405060708090a0b0c' +
      '11000000' +
      '10921092' +
      '00000000000000000000ffff00000000',
  );
});

test('PCP MAP response: the assigned external address and port, lifetime and nonce are read back', () => {
  const r = parsePcpMapResponse(
    bytes(
      '02810000 00000258 0000002a 000000000000000000000000 0102030405060708090a0b0c 11000000 1092 1f90 00000000000000000000ffff0b007102',
    ),
  );
  assert.deepEqual(r, {
    result: 0,
    lifetimeSec: 600,
    epochSec: 42,
    nonce: NONCE,
    protocol: 17,
    internalPort: 4242,
    externalPort: 8080,
    externalIp: '11.0.113.2',
  });
});

test('PCP: a NAT-PMP server answering in version 0, a request echoed back and short datagrams are not MAP responses', () => {
  assert.equal(parsePcpMapResponse(bytes('0081 0001 00000000')), 'nat-pmp server');
  const request = encodePcpMap({
    lifetimeSec: 1,
    clientIp: '10.0.0.1',
    nonce: NONCE,
    internalPort: 1,
    suggestedPort: 1,
    suggestedIp: '0.0.0.0',
  });
  assert.equal(parsePcpMapResponse(request), 'not a MAP response');
  assert.equal(parsePcpMapResponse(request.subarray(0, 56)), 'bad length');
});

test('NAT-PMP: address and map requests byte for byte; responses parsed, short error responses accepted', () => {
  assert.equal(hexOf(encodeNatPmpAddressRequest()), '0000');
  assert.equal(hexOf(encodeNatPmpMapUdp(4242, 4242, 7200)), '00010000' + '10921092' + '00001c20');
  assert.deepEqual(parseNatPmpResponse(bytes('0080 0000 0000002a 0b007102')), {
    op: 0,
    result: 0,
    epochSec: 42,
    externalIp: '11.0.113.2',
  });
  assert.deepEqual(parseNatPmpResponse(bytes('0081 0000 0000002a 1092 1f90 00000258')), {
    op: 1,
    result: 0,
    epochSec: 42,
    internalPort: 4242,
    externalPort: 8080,
    lifetimeSec: 600,
  });
  assert.equal((parseNatPmpResponse(bytes('0081 0002 0000002a')) as { result: number }).result, 2);
  assert.equal(parseNatPmpResponse(bytes('0081 0000 0000002a')), 'short map response');
  assert.equal(parseNatPmpResponse(bytes('0000 0000 0000002a')), 'unknown opcode');
});

test('SSDP: the LOCATION of a search answer; notifications and answers without one are refused', () => {
  const answer =
    'HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nLocation: http://192.168.1.1:5000/rootDesc.xml\r\n\r\n';
  assert.deepEqual(parseSsdpResponse(new TextEncoder().encode(answer)), {
    location: 'http://192.168.1.1:5000/rootDesc.xml',
  });
  assert.equal(
    parseSsdpResponse(new TextEncoder().encode('NOTIFY * HTTP/1.1\r\nLOCATION: http://x/\r\n\r\n')),
    'not a search answer',
  );
  assert.equal(
    parseSsdpResponse(new TextEncoder().encode('HTTP/1.1 200 OK\r\nLOCATION: file:///etc/passwd\r\n\r\n')),
    'bad location',
  );
});

test('IGD description: the WANIPConnection control URL, resolved against the description URL; other services ignored', () => {
  const xml = `<?xml version="1.0"?><root><device><serviceList>
    <service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType><controlURL>/ctl/L3F</controlURL></service>
    <service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>/ctl/IPConn</controlURL></service>
  </serviceList></device></root>`;
  assert.deepEqual(parseIgdDescription(xml, 'http://192.168.1.1:5000/rootDesc.xml'), {
    serviceType: 'urn:schemas-upnp-org:service:WANIPConnection:1',
    controlUrl: 'http://192.168.1.1:5000/ctl/IPConn',
  });
  assert.equal(parseIgdDescription('<root/>', 'http://192.168.1.1/'), 'no WAN connection service');
});

test('SOAP: arguments escaped in the request; outputs and UPnP faults read from the answer', () => {
  const req = encodeSoapRequest('urn:schemas-upnp-org:service:WANIPConnection:1', 'AddPortMapping', [
    ['NewPortMappingDescription', 'a<b&c'],
  ]);
  assert.match(
    req,
    /<u:AddPortMapping xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1"><NewPortMappingDescription>a&lt;b&amp;c<\/NewPortMappingDescription>/,
  );
  assert.deepEqual(
    parseSoapResponse('<s:Body><u:R><NewExternalIPAddress>11.0.113.2</NewExternalIPAddress></u:R></s:Body>', [
      'NewExternalIPAddress',
    ]),
    {
      ok: { NewExternalIPAddress: '11.0.113.2' },
    },
  );
  assert.deepEqual(
    parseSoapResponse(
      '<s:Fault><detail><UPnPError><errorCode>718</errorCode><errorDescription>ConflictInMappingEntry</errorDescription></UPnPError></detail></s:Fault>',
      [],
    ),
    {
      fault: 'UPnP error 718 (ConflictInMappingEntry)',
    },
  );
});

test('default gateway: the up gateway route with destination and mask 0 and the lowest metric, from little-endian hex', () => {
  const text = [
    'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
    'eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0',
    'eth1\t00000000\t0102A8C0\t0003\t0\t0\t200\t00000000\t0\t0\t0',
    'eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
  ].join('\n');
  assert.equal(parseDefaultGateway(text), '192.168.1.1');
  assert.equal(
    parseDefaultGateway(
      text
        .split('\n')
        .filter((l) => !l.includes('\t0003\t'))
        .join('\n'),
    ),
    null,
  );
});

test('a mapping is advertised only when its external IP is the one the lighthouse sees us at', () => {
  const m: PortMapping = {
    protocol: 'pcp',
    gateway: '192.168.1.1',
    externalIp: '11.0.113.2',
    externalPort: 4242,
    internalPort: 4242,
    lifetimeSec: 600,
    handle: null,
  };
  assert.deepEqual(judgeMapping(m, '11.0.113.2'), { advertise: true });
  assert.equal(judgeMapping(m, '198.51.100.7').advertise, false);
  assert.equal(judgeMapping(m, undefined).advertise, false);
});
