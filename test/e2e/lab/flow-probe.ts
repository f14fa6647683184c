import type { Host, Lab } from './lab.js';
import type { LabProcess } from './process.js';

// TCP and UDP endpoints run with `node -e` inside namespaces, for firewall tests. A flow server listens on many ports,
// answers every line (TCP) or datagram (UDP) with "ok <token>", and logs each arrival, so a test can tell "refused on
// the way" from "arrived but the answer was lost". A prober tries many flows at once, each with its own deadline, and
// says how each ended. A stream keeps one flow busy (one socket, one source port) for reload tests. IPv6 targets
// work once the server listens with `ipv6: true` (on '::', both families; the lab's namespaces have IPv6 off
// unless an overlay node with an IPv6 address runs there).

export type FlowProto = 'tcp' | 'udp';

export interface FlowTarget {
  proto: FlowProto;
  ip: string;
  port: number;
}

/**
 * answered: the server's "ok" came back. refused: a TCP RST on connect, or an ICMP unreachable on a connected UDP
 * socket. reset: the connection was reset after it opened. timeout: nothing came back before the deadline.
 */
export type FlowOutcome = 'answered' | 'refused' | 'reset' | 'timeout' | 'error';

export interface FlowResult extends FlowTarget {
  /** Unique per probe; the server logs it when the probe arrives. */
  token: string;
  outcome: FlowOutcome;
  /** From the first send (or connect) to the outcome. */
  ms: number;
  /** The socket error code, when there was one. */
  detail?: string;
}

export interface FlowArrival {
  proto: FlowProto;
  port: number;
  /** "ip:port" the server saw as the source. */
  from: string;
  token: string;
}

const SERVER = `
const net = require('node:net');
const dgram = require('node:dgram');
const { tcp, udp, ipv6 } = JSON.parse(process.argv[1]);
const arrived = (proto, port, from, token) => console.log('arrival ' + proto + ' ' + port + ' ' + from + ' ' + token);
let pending = tcp.length + udp.length;
const ready = () => { if (--pending <= 0) console.log('flow server listening'); };
if (pending === 0) ready();
for (const port of tcp) {
  net.createServer((c) => {
    let buf = '';
    c.on('error', () => {});
    c.on('data', (d) => {
      buf += d;
      for (let i = buf.indexOf('\\n'); i >= 0; i = buf.indexOf('\\n')) {
        const token = buf.slice(0, i);
        buf = buf.slice(i + 1);
        arrived('tcp', port, c.remoteAddress + ':' + c.remotePort, token);
        c.write('ok ' + token + '\\n');
      }
    });
  }).listen(port, ipv6 ? '::' : '0.0.0.0', ready);
}
for (const port of udp) {
  const s = dgram.createSocket(ipv6 ? 'udp6' : 'udp4');
  s.on('message', (m, r) => {
    const token = m.toString();
    arrived('udp', port, r.address + ':' + r.port, token);
    s.send('ok ' + token, r.port, r.address);
  });
  s.bind(port, '0.0.0.0', ready);
}
`;

const PROBER = `
const net = require('node:net');
const dgram = require('node:dgram');
const { probes, timeoutMs } = JSON.parse(process.argv[1]);
const one = (p) => new Promise((done) => {
  const t0 = Date.now();
  let cleanup = () => {};
  let finished = false;
  const end = (outcome, detail) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    try { cleanup(); } catch {}
    done({ ...p, outcome, ms: Date.now() - t0, detail });
  };
  const timer = setTimeout(() => end('timeout'), timeoutMs);
  const failed = (e) => end(e.code === 'ECONNREFUSED' ? 'refused' : e.code === 'ECONNRESET' ? 'reset' : 'error', e.code);
  if (p.proto === 'tcp') {
    const c = net.connect({ host: p.ip, port: p.port });
    cleanup = () => c.destroy();
    let buf = '';
    c.on('connect', () => c.write(p.token + '\\n'));
    c.on('data', (d) => { buf += d; if (buf.includes('ok ' + p.token + '\\n')) end('answered'); });
    c.on('error', failed);
  } else {
    // A connected socket, so an ICMP unreachable comes back as ECONNREFUSED. Resent every 250 ms in case the
    // first datagram is lost while a tunnel comes up.
    const s = dgram.createSocket(p.ip.includes(':') ? 'udp6' : 'udp4');
    let resend = null;
    cleanup = () => { clearInterval(resend); s.close(); };
    s.on('message', (m) => { if (m.toString() === 'ok ' + p.token) end('answered'); });
    s.on('error', failed);
    s.connect(p.port, p.ip, () => {
      const send = () => s.send(p.token, (e) => e && failed(e));
      send();
      resend = setInterval(send, 250);
    });
  }
});
Promise.all(probes.map(one)).then((results) => { console.log(JSON.stringify(results)); process.exit(0); });
`;

/** Sends "<tag>-<n>" every intervalMs on one flow and logs "reply <tag>-<n>" for each answer. */
const STREAM = `
const net = require('node:net');
const dgram = require('node:dgram');
const { proto, ip, port, tag, intervalMs } = JSON.parse(process.argv[1]);
let n = 0;
const replied = (text) => { for (const line of text.split('\\n')) if (line.startsWith('ok ')) console.log('reply ' + line.slice(3)); };
if (proto === 'tcp') {
  const c = net.connect({ host: ip, port }, () => console.log('stream open'));
  let buf = '';
  c.on('data', (d) => { buf += d; const i = buf.lastIndexOf('\\n'); if (i >= 0) { replied(buf.slice(0, i)); buf = buf.slice(i + 1); } });
  c.on('error', (e) => console.log('stream error ' + e.code));
  setInterval(() => { if (!c.destroyed) c.write(tag + '-' + n++ + '\\n'); }, intervalMs);
} else {
  const s = dgram.createSocket(ip.includes(':') ? 'udp6' : 'udp4');
  s.on('message', (m) => replied(m.toString()));
  s.on('error', (e) => console.log('stream error ' + e.code));
  s.bind(0, () => {
    console.log('stream open');
    setInterval(() => s.send(tag + '-' + n++, port, ip), intervalMs);
  });
}
`;

export class FlowServer {
  constructor(readonly process: LabProcess) {}

  arrivals(): FlowArrival[] {
    const out: FlowArrival[] = [];
    for (const m of this.process.log().matchAll(/^arrival (tcp|udp) (\d+) (\S+) (\S+)$/gm)) {
      out.push({ proto: m[1] as FlowProto, port: Number(m[2]), from: m[3] as string, token: m[4] as string });
    }
    return out;
  }

  /** Did the probe with this token arrive? */
  saw(token: string): boolean {
    return this.arrivals().some((a) => a.token === token);
  }

  /** Arrivals of a stream's packets ("<tag>-<n>"). */
  countTagged(tag: string): number {
    return this.arrivals().filter((a) => a.token.startsWith(`${tag}-`)).length;
  }
}

export class FlowStream {
  constructor(
    readonly process: LabProcess,
    readonly tag: string,
  ) {}

  /** Answers received so far. */
  replies(): number {
    return this.process.log().match(/^reply /gm)?.length ?? 0;
  }

  stop(): Promise<unknown> {
    return this.process.kill(500);
  }
}

/** Starts a server in `host` that listens on every given port and waits until all of them are bound. */
export async function startFlowServer(
  lab: Lab,
  host: Host,
  ports: { tcp?: number[]; udp?: number[]; ipv6?: boolean },
): Promise<FlowServer> {
  const args = JSON.stringify({ tcp: ports.tcp ?? [], udp: ports.udp ?? [], ipv6: ports.ipv6 ?? false });
  const proc = await lab.spawn(host, process.execPath, ['-e', SERVER, args]);
  await proc.waitForLog(/flow server listening/, 5000);
  return new FlowServer(proc);
}

let tokenSeq = 0;

/** Tries every target at once from `host`; each ends answered, refused, reset or timeout (default 1 s). */
export async function probeFlows(
  lab: Lab,
  host: Host,
  targets: FlowTarget[],
  options: { timeoutMs?: number } = {},
): Promise<FlowResult[]> {
  const timeoutMs = options.timeoutMs ?? 1000;
  const probes = targets.map((t) => ({ ...t, token: `${host.name}-${t.proto}${t.port}-${++tokenSeq}` }));
  const args = JSON.stringify({ probes, timeoutMs });
  const { stdout } = await lab.exec(host, process.execPath, ['-e', PROBER, args], { timeoutMs: timeoutMs + 5000 });
  return JSON.parse(stdout) as FlowResult[];
}

/** Starts a stream from `host` to `target`, one packet (UDP) or line (TCP) every intervalMs. */
export async function startFlowStream(
  lab: Lab,
  host: Host,
  target: FlowTarget,
  options: { tag?: string; intervalMs?: number } = {},
): Promise<FlowStream> {
  const tag = options.tag ?? `${host.name}-${target.proto}stream${++tokenSeq}`;
  const args = JSON.stringify({ ...target, tag, intervalMs: options.intervalMs ?? 100 });
  const proc = await lab.spawn(host, process.execPath, ['-e', STREAM, args]);
  await proc.waitForLog(/stream open|stream error/, 5000);
  return new FlowStream(proc, tag);
}
