// The TCP RST that `action: reject` answers a TCP segment with, for either IP version (reject.ts draws it).
// Sequence numbers as Linux's nf_reject sets them: their ack as our sequence if they sent ACK, else our ack is
// their sequence + SYN + FIN + payload length. The caller writes the IP header and the checksum.

export const TCP_HEADER_LEN = 20;
const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;

/**
 * Writes the RST answering the TCP segment at `packet[tcpIn..end)` into `out` at `tcp` (checksum left 0), or
 * returns false when none is due (short header, an RST, a bad data offset). Shared by IPv4 and IPv6.
 */
export function tcpResetInto(out: Uint8Array, tcp: number, packet: Uint8Array, tcpIn: number, end: number): boolean {
  if (packet.length < tcpIn + TCP_HEADER_LEN) return false;
  const flags = packet[tcpIn + 13];
  if (flags & TCP_RST) return false;
  const dataOffset = (packet[tcpIn + 12] >>> 4) << 2;
  if (dataOffset < TCP_HEADER_LEN) return false;

  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const inView = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  out[tcp] = packet[tcpIn + 2];
  out[tcp + 1] = packet[tcpIn + 3];
  out[tcp + 2] = packet[tcpIn];
  out[tcp + 3] = packet[tcpIn + 1];
  if (flags & TCP_ACK) {
    view.setUint32(tcp + 4, inView.getUint32(tcpIn + 8));
    out[tcp + 13] = TCP_RST;
  } else {
    const payload = Math.max(0, end - tcpIn - dataOffset);
    const seq = inView.getUint32(tcpIn + 4);
    const ack = (seq + payload + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0)) >>> 0;
    view.setUint32(tcp + 8, ack);
    out[tcp + 13] = TCP_RST | TCP_ACK;
  }
  out[tcp + 12] = (TCP_HEADER_LEN >>> 2) << 4;
  return true;
}
