import { readFileSync } from 'node:fs';

// Reads the UDP payloads out of a pcap file written by `tcpdump -w` (Ethernet or Linux cooked capture v1/v2), so a test
// can replay real datagrams it captured.

export interface CapturedDatagram {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  payload: Buffer;
}

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_LINUX_SLL = 113;
const LINKTYPE_LINUX_SLL2 = 276;

export function readUdpDatagrams(path: string): CapturedDatagram[] {
  const buf = readFileSync(path);
  if (buf.length < 24) return [];
  const le = buf.readUInt32LE(0) === 0xa1b2c3d4;
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linkType = u32(20);
  const linkLen = { [LINKTYPE_ETHERNET]: 14, [LINKTYPE_LINUX_SLL]: 16, [LINKTYPE_LINUX_SLL2]: 20 }[linkType] ?? -1;
  if (linkLen < 0) throw new Error(`unsupported pcap link type ${linkType}`);
  const out: CapturedDatagram[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const inclLen = u32(off + 8);
    if (off + 16 + inclLen > buf.length) break; // a record tcpdump is still writing
    const frame = buf.subarray(off + 16, off + 16 + inclLen);
    off += 16 + inclLen;
    const ip = frame.subarray(linkLen);
    if (ip.length < 28 || ip[0] >> 4 !== 4 || ip[9] !== 17) continue;
    const ihl = (ip[0] & 0x0f) * 4;
    const udp = ip.subarray(ihl);
    out.push({
      src: [...ip.subarray(12, 16)].join('.'),
      dst: [...ip.subarray(16, 20)].join('.'),
      srcPort: udp.readUInt16BE(0),
      dstPort: udp.readUInt16BE(2),
      payload: Buffer.from(udp.subarray(8, udp.readUInt16BE(4))),
    });
  }
  return out;
}
