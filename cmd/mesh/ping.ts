// `mesh ping HOST`: test messages through the tunnel (made on demand), one line per reply with its RTT and
// path, a line when the path changes (relayed -> direct), and a summary. Exit 0 when any reply came back.

import { ControlError, ControlErrorCode } from '../../pkg/control/protocol.js';
import type { PingReply } from '../../pkg/control/reports.js';
import { renderPathChange, renderPingReply, renderPingSummary } from '../../pkg/control/render-ping.js';
import type { CliIo } from './cli-io.js';
import { hostArgument, runClientCommand } from './client-command.js';
import { countFlag, durationMsFlag } from './flags.js';

export const pingSummary = 'send test messages through the tunnel to HOST and show RTT and path';

export function pingCommand(argv: string[], io: CliIo): Promise<number> {
  const specs = {
    count: { type: 'string', value: 'N', describe: 'number of probes (default 4)' },
    interval: { type: 'string', value: 'DURATION', describe: 'time between probes (default 1s)' },
    timeout: { type: 'string', value: 'DURATION', describe: 'how long to wait for each reply, tunnel set-up included (default 2s)' },
    json: { type: 'boolean', describe: 'print one JSON object per reply' },
  } as const;
  return runClientCommand('mesh ping [flags] HOST', pingSummary, specs, argv, io, async (flags, client) => {
    const host = hostArgument(flags);
    const count = countFlag(flags, 'count', 4);
    const intervalMs = durationMsFlag(flags, 'interval', 1000);
    const timeoutMs = durationMsFlag(flags, 'timeout', 2000);
    const rtts: number[] = [];
    let previous: PingReply | null = null;
    let target = host;
    for (let seq = 1; seq <= count; seq++) {
      const started = Date.now();
      try {
        const reply = await client.request<PingReply>('ping', { host, timeoutMs }, timeoutMs + 5000);
        target = `${reply.name} (${reply.vpnIp})`;
        rtts.push(reply.rttMs);
        if (flags.values.json) io.stdout(JSON.stringify({ seq, ...reply }) + '\n');
        else io.stdout(renderPathChange(previous, reply) + renderPingReply(reply, seq));
        previous = reply;
      } catch (e) {
        if (!(e instanceof ControlError) || e.code !== ControlErrorCode.timeout) throw e;
        if (flags.values.json) io.stdout(JSON.stringify({ seq, error: e.message }) + '\n');
        else io.stdout(`no reply: seq=${seq} ${e.message}\n`);
      }
      const wait = intervalMs - (Date.now() - started);
      if (seq < count && wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    if (!flags.values.json) io.stdout(renderPingSummary(target, count, rtts));
    return rtts.length > 0 ? 0 : 1;
  });
}
