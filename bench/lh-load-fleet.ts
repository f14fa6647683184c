// The simulated nodes of the lighthouse load generator (bench/lh-load-gen.ts): many lean nodes in one process, each
// with its own certificate, X25519 key and UDP socket (its own underlay address:port; a few nodes share one when
// the process may not open a file per node), speaking only what a node
// says to its lighthouse, with the codecs of pkg/:
//
//   stage 1 ── Noise IX ──▶ lighthouse            (real handshake: our cert, a fresh ephemeral key)
//   stage 2 ◀──────────────                        (read later, off the receive path: see `finishQueue`)
//   HostUpdateNotification ─▶  every `updateIntervalMs`, our own address
//   HostQuery (a random other node) ─▶  ◀─ HostQueryReply: latency per query, unanswered after a timeout
//   Test request ◀─  ─▶ Test reply                 (the lighthouse's liveness checks, counted)
//
// No MeshNode (a hostmap, firewall, timers and a batched socket per node) so 40k of them fit in one process. The
// stage-2 reads (three X25519 each) are queued and done in slices between receives, so they delay no stage 1 and no
// receive. They are not left until the join ends: a node silent after its handshake for longer than the
// lighthouse's liveness timers (5 + 10 s) is a dead tunnel to it, and its later updates land on nothing.

import { createSocket, type Socket } from 'node:dgram';

import { createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';

import {
  marshalCertificateForHandshake,
  marshalDetails,
  type CertDetails,
  type NebulaCertificate,
} from '../pkg/cert/index.js';
import { decodeHandshakePayload } from '../pkg/handshake/payload.js';
import {
  encodeHeader,
  HEADER_LEN,
  MessageType,
  NoSubType,
  readHeaderInto,
  TestSubType,
  type Header,
} from '../pkg/header/header.js';
import { formatIpv4, parseCidr, parseIpv4, type Ipv4 } from '../pkg/ip/ipv4.js';
import { decodeMeta, encodeMeta, MetaType } from '../pkg/lighthouse/meta.js';
import type { Aead, AeadCipher } from '../pkg/noise/aead.js';
import type { IxInitiator } from '../pkg/noise/ix.js';
import { staticSecret } from '../pkg/noise/x25519.js';
import { udpAddr } from '../pkg/udp/addr.js';
import type { TestCa } from '../test/unit/helpers/pki.js';
import { writeStage1 } from '../test/unit/helpers/stage1.js';

export interface FleetOptions {
  ca: TestCa;
  cipher: AeadCipher;
  lighthouse: { vpnIp: string; ip: string; port: number };
  /** Overlay address of node 0; node i is this + i, in a /`prefix` network with the lighthouse. */
  firstVpnIp: string;
  prefix: number;
  /** Local addresses the nodes' sockets bind to, round robin; node i gets port basePort + floor(i / ips). */
  sourceIps: string[];
  basePort: number;
  /** 1 = a socket (an address:port) per node; more when the process may not open that many files. */
  nodesPerSocket: number;
  updateIntervalMs: number;
}

type Phase = 'new' | 'sent' | 'answered' | 'up';

interface SimNode {
  readonly id: number;
  readonly vpnIp: Ipv4;
  readonly ip: string;
  readonly port: number;
  sock: Socket | null;
  initiator: IxInitiator | null;
  stage1: Uint8Array | null;
  phase: Phase;
  lhIndex: number;
  send: Aead | null;
  recv: Aead | null;
  /** Next send counter: 1 and 2 were the handshake's, which the peer's replay window already holds. */
  counter: number;
  stage1SentAt: number;
  attempts: number;
  nextUpdateAt: number;
}

export interface FleetStats {
  /** Stage 2s received (handshakes the lighthouse completed). */
  answered: number;
  /** Stage 1 resends after HANDSHAKE_RETRY_MS without an answer. */
  resent: number;
  updates: number;
  queries: number;
  /** Reply latency in ms, one per answered query. */
  replyMs: number[];
  /** The host each reply in `replyMs` was about (same order): lets a caller split answers by who serves the host. */
  replyTargets: number[];
  /** Replies that named no address (counted in replyMs too). */
  emptyReplies: number;
  /** Queries with no reply within the timeout. */
  unanswered: number;
  testRequests: number;
  punchNotifications: number;
  acks: number;
  /** Replies to no pending query (answered after the timeout, or twice). */
  lateReplies: number;
  otherPackets: number;
  badPackets: number;
}

const HANDSHAKE_RETRY_MS = 2000;
/** Stage-2 reads per slice before yielding to the receive path (~150 us each). */
const FINISH_SLICE = 16;

export class Fleet {
  readonly nodes: SimNode[] = [];
  stats: FleetStats = Fleet.emptyStats();
  private readonly lhVpnIp: Ipv4;
  private readonly finishQueue: Array<[SimNode, Uint8Array]> = [];
  private finishing = false;
  /** Pending queries: `${nodeId}:${target}` -> send time (ms). */
  private readonly pendingQueries = new Map<string, number>();
  private readonly header: Header = { version: 0, type: 0, subtype: 0, reserved: 0, remoteIndex: 0, counter: 0 };
  /** Nodes that are up, in the order their next update is due (all share one interval, so FIFO stays sorted). */
  private updateQueue: SimNode[] = [];
  private updateHead = 0;

  private readonly caKey: KeyObject;
  constructor(private readonly opts: FleetOptions) {
    this.lhVpnIp = parseIpv4(opts.lighthouse.vpnIp);
    const pkcs8 = Buffer.concat([
      Buffer.from('302e020100300506032b657004220420', 'hex'),
      opts.ca.privateKey.subarray(0, 32),
    ]);
    this.caKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  }

  static emptyStats(): FleetStats {
    return {
      answered: 0,
      resent: 0,
      updates: 0,
      queries: 0,
      replyMs: [],
      replyTargets: [],
      emptyReplies: 0,
      unanswered: 0,
      testRequests: 0,
      punchNotifications: 0,
      acks: 0,
      lateReplies: 0,
      otherPackets: 0,
      badPackets: 0,
    };
  }

  /**
   * Makes `count` nodes: certificate, static key import, stage 1 written (not sent), sockets bound. Node i uses
   * socket floor(i / nodesPerSocket); socket s binds sourceIps[s % ips] : basePort + floor(s / ips).
   */
  async create(count: number): Promise<void> {
    const first = parseIpv4(this.opts.firstVpnIp);
    const ips = this.opts.sourceIps;
    const perSocket = this.opts.nodesPerSocket;
    for (let i = 0; i < count; i++) {
      const s = Math.floor(i / perSocket);
      const ip = ips[s % ips.length];
      const port = this.opts.basePort + Math.floor(s / ips.length);
      const node: SimNode = {
        id: i,
        vpnIp: first + i,
        ip,
        port,
        sock: null,
        initiator: null,
        stage1: null,
        phase: 'new',
        lhIndex: 0,
        send: null,
        recv: null,
        counter: 3,
        stage1SentAt: 0,
        attempts: 0,
        nextUpdateAt: 0,
      };
      this.prepareStage1(node);
      this.nodes.push(node);
      if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    }
    // Bind in chunks: each bind is a syscall and a callback.
    const sockets = Math.ceil(count / perSocket);
    for (let s = 0; s < sockets; s += 256) {
      const chunk = Array.from({ length: Math.min(256, sockets - s) }, (_, k) => this.nodes[(s + k) * perSocket]);
      const bound = await Promise.all(chunk.map((n) => this.bind(n.ip, n.port)));
      chunk.forEach((n, k) => {
        for (let i = n.id; i < Math.min(count, n.id + perSocket); i++) this.nodes[i].sock = bound[k];
      });
    }
  }

  // A certificate per node, signed with the CA key imported once (the generator makes 40k of them; the test helper
  // imports the CA key twice per certificate, ~4 ms each under load).
  private prepareStage1(node: SimNode): void {
    const staticPrivate = Uint8Array.from(randomBytes(32));
    const staticPublic = staticSecret(staticPrivate).publicKey;
    const now = Math.floor(Date.now() / 1000);
    const details: CertDetails = {
      name: `sim${node.id}`,
      ips: [parseCidr(`${formatIpv4(node.vpnIp)}/${this.opts.prefix}`)],
      subnets: [],
      groups: [],
      notBefore: now - 3600,
      notAfter: now + 86_400,
      publicKey: staticPublic,
      isCA: false,
      issuer: this.opts.ca.fingerprint,
    };
    const cert: NebulaCertificate = {
      details,
      signature: new Uint8Array(sign(null, marshalDetails(details), this.caKey)),
    };
    const { packet, initiator } = writeStage1({
      cipher: this.opts.cipher,
      staticKey: staticPrivate,
      cert: marshalCertificateForHandshake(cert),
      initiatorIndex: node.id + 1,
    });
    node.initiator = initiator;
    node.stage1 = packet;
  }

  private bind(ip: string, port: number): Promise<Socket> {
    const sock = createSocket({ type: 'udp4' });
    sock.on('message', (msg) => this.receive(sock, msg));
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, ip, () => {
        sock.off('error', reject);
        sock.on('error', () => this.stats.badPackets++);
        resolve(sock);
      });
    });
  }

  /** Sends stage 1 for `node` (first time or resend). */
  startHandshake(node: SimNode, now: number): void {
    if (node.phase === 'sent') this.stats.resent++;
    node.phase = 'sent';
    node.stage1SentAt = now;
    node.attempts++;
    node.sock!.send(node.stage1!, this.opts.lighthouse.port, this.opts.lighthouse.ip);
  }

  /** Nodes that sent stage 1 and heard nothing for HANDSHAKE_RETRY_MS: resent (as a node retransmits the same bytes). */
  resendStale(now: number, pending: Set<SimNode>): void {
    for (const n of pending) {
      if (n.phase !== 'sent') pending.delete(n);
      else if (now - n.stage1SentAt >= HANDSHAKE_RETRY_MS) this.startHandshake(n, now);
    }
  }

  private receive(sock: Socket, msg: Buffer): void {
    const h = this.header;
    if (!readHeaderInto(msg, h)) {
      this.stats.otherPackets++; // punchy keep-alives are a byte or so
      return;
    }
    // Every packet the lighthouse sends us carries our index (node id + 1) as its remote index.
    const node = this.nodes[h.remoteIndex - 1];
    if (node === undefined || node.sock !== sock) {
      this.stats.otherPackets++;
      return;
    }
    if (h.type === MessageType.Handshake) {
      if (node.phase !== 'sent') return;
      node.phase = 'answered';
      this.stats.answered++;
      this.finishQueue.push([node, Uint8Array.from(msg)]);
      this.scheduleFinish();
      return;
    }
    if (node.recv === null) return;
    const body = node.recv.open(h.counter, msg.subarray(HEADER_LEN), msg.subarray(0, HEADER_LEN));
    if (body === null) {
      this.stats.badPackets++;
      return;
    }
    if (h.type === MessageType.LightHouse) this.lighthouseMessage(node, body);
    else if (h.type === MessageType.Test && h.subtype === TestSubType.Request) {
      this.stats.testRequests++;
      this.sendSealed(node, MessageType.Test, TestSubType.Reply, body);
    } else this.stats.otherPackets++;
  }

  private lighthouseMessage(node: SimNode, body: Uint8Array): void {
    let m;
    try {
      m = decodeMeta(body);
    } catch {
      this.stats.badPackets++;
      return;
    }
    if (m.type === MetaType.HostQueryReply) {
      const key = `${node.id}:${m.vpnIp}`;
      const sentAt = this.pendingQueries.get(key);
      if (sentAt !== undefined) {
        this.pendingQueries.delete(key);
        this.stats.replyMs.push(performance.now() - sentAt);
        this.stats.replyTargets.push(Number(m.vpnIp));
        if (m.addrs.length === 0) this.stats.emptyReplies++;
      } else this.stats.lateReplies++;
    } else if (m.type === MetaType.HostPunchNotification) this.stats.punchNotifications++;
    else if (m.type === MetaType.HostUpdateNotificationAck) this.stats.acks++;
    else this.stats.otherPackets++;
  }

  private scheduleFinish(): void {
    if (this.finishing) return;
    this.finishing = true;
    setImmediate(() => this.finishSome());
  }

  private finishSome(): void {
    this.finishing = false;
    for (let i = 0; i < FINISH_SLICE && this.finishQueue.length > 0; i++) {
      const [node, msg] = this.finishQueue.shift()!;
      try {
        const result = node.initiator!.readMessage2(msg.subarray(HEADER_LEN));
        node.lhIndex = decodeHandshakePayload(result.payload).responderIndex;
        node.send = result.keys.send;
        node.recv = result.keys.recv;
        node.initiator = null;
        node.stage1 = null;
        node.phase = 'up';
        this.sendUpdate(node);
        node.nextUpdateAt = performance.now() + this.opts.updateIntervalMs;
        this.updateQueue.push(node);
      } catch {
        this.stats.badPackets++;
        node.phase = 'sent'; // resent by resendStale
      }
    }
    if (this.finishQueue.length > 0) this.scheduleFinish();
  }

  /** Reads every queued stage 2 (each node then sends its first update), yielding between slices. */
  async finishAll(): Promise<void> {
    while (this.finishQueue.length > 0) {
      this.finishSome();
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Stage 2s received but not read yet. */
  get finishBacklog(): number {
    return this.finishQueue.length;
  }

  /** Sends the updates that are due: each node every `updateIntervalMs` from when its tunnel came up, as a node does. */
  sendDueUpdates(now: number): void {
    const q = this.updateQueue;
    while (this.updateHead < q.length && q[this.updateHead].nextUpdateAt <= now) {
      const node = q[this.updateHead++];
      this.sendUpdate(node);
      node.nextUpdateAt += this.opts.updateIntervalMs;
      q.push(node);
    }
    if (this.updateHead > 65_536) {
      this.updateQueue = q.slice(this.updateHead);
      this.updateHead = 0;
    }
  }

  sendUpdate(node: SimNode): void {
    this.stats.updates++;
    const body = encodeMeta({
      type: MetaType.HostUpdateNotification,
      vpnIp: node.vpnIp,
      addrs: [udpAddr(node.ip, node.port)],
      relays: [],
    });
    this.sendSealed(node, MessageType.LightHouse, NoSubType, body);
  }

  sendQuery(node: SimNode, target: Ipv4): void {
    this.stats.queries++;
    this.pendingQueries.set(`${node.id}:${target}`, performance.now());
    const body = encodeMeta({ type: MetaType.HostQuery, vpnIp: target, addrs: [], relays: [] });
    this.sendSealed(node, MessageType.LightHouse, NoSubType, body);
  }

  /** Queries older than `timeoutMs` count as unanswered and are forgotten. */
  expireQueries(timeoutMs: number): void {
    const cutoff = performance.now() - timeoutMs;
    for (const [key, at] of this.pendingQueries) {
      if (at > cutoff) break; // insertion order is send order
      this.pendingQueries.delete(key);
      this.stats.unanswered++;
    }
  }

  private sendSealed(node: SimNode, type: MessageType, subtype: number, body: Uint8Array): void {
    const out = Buffer.alloc(HEADER_LEN + body.length + 16);
    encodeHeader(out, 0, type, subtype, node.lhIndex, node.counter);
    node.send!.seal(node.counter, body, out.subarray(0, HEADER_LEN), out, HEADER_LEN);
    node.counter++;
    node.sock!.send(out, this.opts.lighthouse.port, this.opts.lighthouse.ip);
  }

  close(): void {
    const closed = new Set<Socket>();
    for (const n of this.nodes) {
      if (n.sock && !closed.has(n.sock)) {
        closed.add(n.sock);
        n.sock.close();
      }
      n.send?.close();
      n.recv?.close();
    }
  }

  get lighthouseVpnIp(): Ipv4 {
    return this.lhVpnIp;
  }
}

export type { SimNode };
