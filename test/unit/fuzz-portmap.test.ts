// Fuzzing what a gateway (or anyone on the LAN) can send the port-mapping clients: the PCP, NAT-PMP, SSDP, IGD
// description and SOAP parsers (never throw, bounded time, typed results in range), and the real UDP exchange on
// 127.0.0.1: junk and forged answers are ignored, a forged PCP success without our nonce is not taken, and however
// much a "gateway" sends, we send at most the bounded number of requests.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { exchange, ExchangeError } from '../../pkg/portmap/gateway-exchange.js';
import { parseNatPmpResponse } from '../../pkg/portmap/natpmp-wire.js';
import { PcpClient } from '../../pkg/portmap/pcp.js';
import { parsePcpMapResponse, PCP_MAP_LEN } from '../../pkg/portmap/pcp-wire.js';
import {
  MAX_UPNP_BODY,
  parseIgdDescription,
  parseSoapResponse,
  parseSsdpResponse,
} from '../../pkg/portmap/upnp-wire.js';
import { mutate, mutateText, randomBytes, runFuzz, runFuzzAsync } from './helpers/fuzz.js';

const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s/g, ''), 'hex'));
const PCP_OK = bytes(
  '02810000 00000258 0000002a 000000000000000000000000 0102030405060708090a0b0c 11000000 1092 1f90 00000000000000000000ffff0b007102',
);
const PMP = [
  bytes('0080 0000 0000002a 0b007102'),
  bytes('0081 0000 0000002a 1092 1f90 00000258'),
  bytes('0081 0003 0000002a'),
];
const inPort = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 65535;

test('fuzz: PCP and NAT-PMP responses parse to a reason or a record in range, never a throw', () => {
  const samples = [PCP_OK, ...PMP];
  runFuzz('pcp/nat-pmp parse', { iterations: 30_000, ms: 1500, seed: 0x9c9 }, (r) => {
    const b = r.chance(0.3) ? randomBytes(r, 200) : mutate(r, r.pick(samples), samples, 4, 1200);
    const pcp = parsePcpMapResponse(b);
    if (typeof pcp !== 'string') {
      assert.ok(inPort(pcp.internalPort) && inPort(pcp.externalPort) && pcp.nonce.length === 12);
      assert.ok(pcp.externalIp === null || /^\d+\.\d+\.\d+\.\d+$/.test(pcp.externalIp));
    }
    const pmp = parseNatPmpResponse(b);
    if (typeof pmp !== 'string' && pmp.op === 1) assert.ok(inPort(pmp.internalPort) && inPort(pmp.externalPort));
  });
});

const SSDP =
  'HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nLOCATION: http://192.168.1.1:5000/rootDesc.xml\r\n\r\n';
const DESC =
  '<?xml version="1.0"?><root><URLBase>http://192.168.1.1:5000/</URLBase><device><serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>' +
  '<controlURL>/ctl/IPConn</controlURL></service></serviceList></device></root>';
const SOAP =
  '<s:Envelope><s:Body><u:GetExternalIPAddressResponse><NewExternalIPAddress>11.0.113.2</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>';
const FAULT =
  '<s:Fault><detail><UPnPError><errorCode>718</errorCode><errorDescription>x&amp;y</errorDescription></UPnPError></detail></s:Fault>';

test('fuzz: SSDP answers, IGD descriptions and SOAP answers never throw; URLs stay http; near-limit inputs stay fast', () => {
  runFuzz('upnp texts', { iterations: 5000, ms: 2000, seed: 0x1d6, maxIterationMs: 200 }, (r) => {
    const ssdp = parseSsdpResponse(new TextEncoder().encode(mutateText(r, SSDP, 6, 4096)));
    if (typeof ssdp !== 'string') assert.ok(ssdp.location.startsWith('http://'));
    const desc = parseIgdDescription(
      mutateText(r, r.chance(0.1) ? DESC.repeat(1 + r.int(300)) : DESC, 6, MAX_UPNP_BODY + 100),
      'http://192.168.1.1:5000/rootDesc.xml',
    );
    if (typeof desc !== 'string') assert.ok(desc.controlUrl.startsWith('http://'));
    parseSoapResponse(mutateText(r, r.chance(0.5) ? SOAP : FAULT, 6), ['NewExternalIPAddress']);
  });
  // Pathological shapes for the bounded regular expressions: many opening tags, none closed.
  const started = performance.now();
  parseIgdDescription('<service>'.repeat(7000) + '<serviceType>'.repeat(100), 'http://192.168.1.1/');
  parseSoapResponse('<errorCode>'.repeat(6000), []);
  assert.ok(performance.now() - started < 1000, `took ${performance.now() - started} ms`);
});

/** A fake gateway on 127.0.0.1: answers each request with what `answer` returns (any number of datagrams). */
async function fakeGateway(
  answer: (req: Buffer, n: number) => Uint8Array[],
): Promise<{ port: number; requests: () => number; close(): void }> {
  const sock = dgram.createSocket('udp4');
  let n = 0;
  sock.on('message', (msg, rinfo) => {
    for (const d of answer(msg, n++)) sock.send(d, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { port: sock.address().port, requests: () => n, close: () => sock.close() };
}

test('fuzz: the exchange takes only an acceptable answer from the gateway, and sends at most its bounded tries however much comes back', async () => {
  await runFuzzAsync('gateway exchange', { iterations: 40, ms: 4000, seed: 0x5e7 }, async (r) => {
    const isValid = (d: Uint8Array): boolean => Buffer.compare(Buffer.from(d), Buffer.from(PCP_OK)) === 0;
    const junk = Array.from({ length: r.int(50) }, () =>
      r.chance(0.5) ? randomBytes(r, 100) : mutate(r, PCP_OK, [PCP_OK], 4, 200),
    ).filter((d) => !isValid(d));
    const replyValid = r.chance(0.5);
    const gw = await fakeGateway(() => [...junk, ...(replyValid ? [PCP_OK] : [])]);
    try {
      let ignored = 0;
      const result = await exchange({
        gateway: '127.0.0.1',
        port: gw.port,
        build: () => new Uint8Array(PCP_MAP_LEN),
        ignored: () => ignored++,
        accept: (d) => {
          const p = parsePcpMapResponse(d);
          return typeof p === 'string' || !isValid(d) ? 'not it' : p;
        },
        // Short waits only where no answer comes (the three tries' 105 ms, to keep the run fast); where one does, a
        // loaded machine must not run out the tries before the in-process gateway's answer is read.
        firstWaitMs: replyValid ? 2000 : 15,
        tries: 3,
      }).then(
        (v) => v.answer,
        (e: unknown) => e,
      );
      // Loopback keeps order: everything ahead of the answer was looked at and counted as ignored.
      if (replyValid) assert.equal((result as { externalPort: number }).externalPort, 8080);
      if (replyValid) assert.equal(ignored, junk.length);
      else assert.ok(result instanceof ExchangeError && result.code === 'no-answer', String(result));
      assert.ok(gw.requests() <= 3, `sent ${gw.requests()} requests`);
    } finally {
      gw.close();
    }
  });
});

test('PCP: a success answer without our nonce is ignored; the real one (same nonce) is taken', async () => {
  const gw = await fakeGateway((req) => {
    const forged = new Uint8Array(PCP_OK);
    new DataView(forged.buffer).setUint16(42, 9999); // another external port, to tell which answer was taken
    const real = new Uint8Array(PCP_OK);
    real.set(req.subarray(24, 36), 24); // our nonce
    real.set(req.subarray(40, 42), 40); // our internal port
    return [forged, real];
  });
  try {
    const m = await new PcpClient(gw.port).map({ gateway: '127.0.0.1', internalPort: 4242, lifetimeSec: 600 });
    assert.equal(m.externalPort, 8080);
    assert.equal(gw.requests(), 1);
  } finally {
    gw.close();
  }
});
