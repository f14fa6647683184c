import type { Host, Lab } from './lab.js';
import type { LabProcess } from './process.js';

// Tiny UDP tools run with `node -e` inside namespaces: an echo server that reports the source address it saw, and a
// client that sends from one socket to several targets. Together they show what a NAT did to a flow.

/** Each datagram is answered with JSON {seenFrom: "ip:port", data}. */
const ECHO_SERVER = `
const dgram = require('node:dgram');
const port = Number(process.argv[1]);
const s = dgram.createSocket('udp4');
s.on('message', (m, r) => {
  s.send(JSON.stringify({ seenFrom: r.address + ':' + r.port, data: m.toString() }), r.port, r.address);
});
s.bind(port, () => console.log('udp echo listening on ' + port));
`;

/**
 * Binds one socket, sends "probe-<i>" to each target every 200 ms until it answers or the time is up, then prints
 * JSON {localPort, replies: [{target, seenFrom | null}]}.
 */
const PROBE_CLIENT = `
const dgram = require('node:dgram');
const { targets, localPort, timeoutMs, ttl } = JSON.parse(process.argv[1]);
const s = dgram.createSocket('udp4');
const seen = targets.map(() => null);
const finish = () => {
  console.log(JSON.stringify({ localPort: s.address().port, replies: targets.map((t, i) => ({ target: t, seenFrom: seen[i] })) }));
  process.exit(0);
};
s.on('message', (m) => {
  const reply = JSON.parse(m.toString());
  const i = Number(reply.data.split('-')[1]);
  if (seen[i] === null) seen[i] = reply.seenFrom;
  if (seen.every((x) => x !== null)) finish();
});
s.bind(localPort, () => {
  if (ttl) s.setTTL(ttl);
  const send = () => targets.forEach((t, i) => {
    if (seen[i] !== null) return;
    const [ip, port] = t.split(':');
    s.send('probe-' + i, Number(port), ip);
  });
  send();
  setInterval(send, 200);
  setTimeout(finish, timeoutMs);
});
`;

export interface ProbeReply {
  /** "ip:port" the probe was sent to. */
  target: string;
  /** "ip:port" the target saw as the source, or null when it never answered. */
  seenFrom: string | null;
}

export interface ProbeResult {
  localPort: number;
  replies: ProbeReply[];
}

/** Starts a UDP echo server on `port` in `host` and waits until it listens. */
export async function startUdpEcho(lab: Lab, host: Host, port: number): Promise<LabProcess> {
  const proc = await lab.spawn(host, process.execPath, ['-e', ECHO_SERVER, String(port)]);
  await proc.waitForLog(/udp echo listening/, 5000);
  return proc;
}

/** Sends from one UDP socket in `host` to every "ip:port" target and reports what each target saw. */
export async function udpProbe(
  lab: Lab,
  host: Host,
  targets: string[],
  options: { localPort?: number; timeoutMs?: number; ttl?: number } = {},
): Promise<ProbeResult> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const args = JSON.stringify({ targets, localPort: options.localPort ?? 0, timeoutMs, ttl: options.ttl ?? 0 });
  const { stdout } = await lab.exec(host, process.execPath, ['-e', PROBE_CLIENT, args], {
    timeoutMs: timeoutMs + 5000,
  });
  return JSON.parse(stdout) as ProbeResult;
}
