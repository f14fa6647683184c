// latency.ts `first --wire`: where a first contact's wall time goes, from packet captures on both daemons' wires.
//
// tcpdump on a's and b's underlay (eth0) and TUN devices stamps every packet of the contact with the kernel's
// receive or send time, all on one realtime clock, for either implementation alike. A UDP payload's first bytes are
// Nebula's header (docs/wire-format.md): its type and counter tell the handshake's stages and the data packets
// apart; lighthouse messages are sealed, so who sent them to whom says what they are (a's query, the answer, b's
// punch notification). The gaps between them are the stages: each daemon's own time (from a packet in to its next
// packet out) and the wire's or the lighthouse's (the rest).

import type { Host, Lab } from '../test/e2e/lab/lab.js';
import type { LabProcess } from '../test/e2e/lab/process.js';

/** One captured packet: where it was seen, when (seconds, realtime), and what it is. */
export interface WirePacket {
  at: number;
  where: string;
  what: string;
}

const HEADER_TYPES = ['handshake', 'data', 'recv_error', 'lighthouse', 'test', 'close'] as const;

/** What a UDP payload is, from its first bytes (Nebula's 16-byte header), or 'punch' for a 1-byte datagram. */
export function classifyPayload(payload: Uint8Array): string {
  if (payload.length <= 1) return 'punch';
  if (payload.length < 16) return `short(${payload.length})`;
  const type = HEADER_TYPES[payload[0] & 0x0f] ?? `type${payload[0] & 0x0f}`;
  if (type !== 'handshake') return type;
  const counter = Number(Buffer.from(payload.subarray(8, 16)).readBigUInt64BE());
  return `stage${counter}`;
}

/**
 * tcpdump -tt -x lines to packets: a header line ("<secs> IP <src> > <dst>: ...") and its hex lines. UDP packets are
 * named "<src>><dst> <kind>" with hosts by `names` (an address to a role); ICMP packets "echo" or "reply".
 */
export function parseCapture(output: string, where: string, names: ReadonlyMap<string, string>): WirePacket[] {
  const packets: WirePacket[] = [];
  let head: { at: number; line: string } | null = null;
  let hex = '';
  const finish = () => {
    if (head === null) return;
    const what = describe(head.line, Buffer.from(hex, 'hex'), names);
    if (what !== null) packets.push({ at: head.at, where, what });
    head = null;
    hex = '';
  };
  for (const line of output.split('\n')) {
    const h = /^(\d+\.\d+) IP (.*)$/.exec(line);
    if (h !== null) {
      finish();
      head = { at: Number(h[1]), line: h[2] };
      continue;
    }
    const x = /^\s+0x[0-9a-f]+:\s+((?:[0-9a-f]{2,4}\s?)+)/.exec(line);
    if (x !== null && head !== null) hex += x[1].replace(/\s/g, '');
  }
  finish();
  return packets;
}

function describe(line: string, ip: Buffer, names: ReadonlyMap<string, string>): string | null {
  if (/ICMP echo request/.test(line)) return 'echo';
  if (/ICMP echo reply/.test(line)) return 'reply';
  const m = /^(\d+\.\d+\.\d+\.\d+)\.\d+ > (\d+\.\d+\.\d+\.\d+)\.\d+: UDP/.exec(line);
  if (m === null || ip.length < 28) return null;
  const payload = ip.subarray((ip[0] & 0x0f) * 4 + 8);
  const from = names.get(m[1]) ?? m[1];
  const to = names.get(m[2]) ?? m[2];
  return `${from}>${to} ${classifyPayload(payload)}`;
}

/** Captures running on a list of (host, device, filter) for one contact. */
export class ContactWire {
  private constructor(private readonly captures: Array<{ where: string; proc: LabProcess }>) {}

  static async start(
    lab: Lab,
    points: ReadonlyArray<{ where: string; host: Host; dev: string; filter: string }>,
  ): Promise<ContactWire> {
    const captures: Array<{ where: string; proc: LabProcess }> = [];
    for (const p of points) {
      const args = ['-i', p.dev, '-n', '-l', '-tt', '--time-stamp-precision=micro', '-x', p.filter];
      captures.push({ where: p.where, proc: await lab.spawn(p.host, 'tcpdump', args) });
    }
    await Promise.all(captures.map((c) => c.proc.waitForLog(/listening on/, 5000)));
    return new ContactWire(captures);
  }

  /** Stops the captures; every packet they saw, in time order. */
  async stop(names: ReadonlyMap<string, string>): Promise<WirePacket[]> {
    await new Promise((done) => setTimeout(done, 100)); // the last lines out of tcpdump's buffer
    await Promise.all(this.captures.map((c) => c.proc.kill(1000)));
    return this.captures.flatMap((c) => parseCapture(c.proc.log(), c.where, names)).sort((x, y) => x.at - y.at);
  }
}

/** A stage: from the first packet matching `from` to the first matching `to` after it. */
interface StageSpec {
  name: string;
  from: [string, string];
  to: [string, string];
  /** Its `from` is looked for from the first packet on, not after the previous stage's `from`. */
  fromStart?: boolean;
}

/**
 * The stages of a contact as seen on the wires, from a's first echo request to its reply. "a:" and "b:" stages run
 * from a packet in to that daemon's next packet out; the others are the lighthouse's turn and the wire. Each stage's
 * first packet is looked for after the previous stage's (a lighthouse message before the query is no answer).
 */
export const CONTACT_STAGES: readonly StageSpec[] = [
  { name: 'a: TUN read -> query out', from: ['a.tun', 'echo'], to: ['a.eth', 'a>lh lighthouse'], fromStart: true },
  { name: 'lh: query -> answer at a', from: ['a.eth', 'a>lh lighthouse'], to: ['a.eth', 'lh>a lighthouse'] },
  { name: 'a: answer in -> stage 1 out', from: ['a.eth', 'lh>a lighthouse'], to: ['a.eth', 'a>b stage1'] },
  { name: 'b: stage 1 in -> stage 2 out', from: ['b.eth', 'a>b stage1'], to: ['b.eth', 'b>a stage2'] },
  { name: 'a: stage 2 in -> data out', from: ['a.eth', 'b>a stage2'], to: ['a.eth', 'a>b data'] },
  { name: 'b: data in -> TUN write', from: ['b.eth', 'a>b data'], to: ['b.tun', 'echo'] },
  { name: 'b: TUN reply -> data out', from: ['b.tun', 'reply'], to: ['b.eth', 'b>a data'] },
  { name: 'a: data in -> TUN write', from: ['a.eth', 'b>a data'], to: ['a.tun', 'reply'] },
  { name: 'whole: echo -> reply on a.tun', from: ['a.tun', 'echo'], to: ['a.tun', 'reply'], fromStart: true },
];

/** Each stage's wall time in ms (NaN when a packet was not seen). */
export function stageTimes(packets: readonly WirePacket[]): Map<string, number> {
  const times = new Map<string, number>();
  let previous = -Infinity;
  for (const s of CONTACT_STAGES) {
    const since = s.fromStart ? -Infinity : previous;
    const start = packets.find((p) => p.at >= since && p.where === s.from[0] && p.what === s.from[1]);
    const end =
      start === undefined
        ? undefined
        : packets.find((p) => p.at >= start.at && p.where === s.to[0] && p.what === s.to[1]);
    times.set(s.name, start === undefined || end === undefined ? NaN : (end.at - start.at) * 1000);
    if (start !== undefined) previous = start.at;
  }
  return times;
}

/** The packets as one line: time after a's first echo request (ms), where seen, what. */
export function timeline(packets: readonly WirePacket[]): string {
  const t0 = packets.find((p) => p.where === 'a.tun' && p.what === 'echo')?.at ?? packets[0]?.at ?? 0;
  return packets.map((p) => `${((p.at - t0) * 1000).toFixed(3)} ${p.where} ${p.what}`).join(' | ');
}
