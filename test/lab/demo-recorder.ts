// The demo's last act: record a few requests inside the XDP program and show them with
// tshark. The recording is served by the demo's running xlbd (xlb.v1.Recorder on its API socket):
// `xlb record FILTER -w FILE` runs in the background on the LB node while the client makes a few
// requests, is stopped with Ctrl-C (SIGINT: the daemon sends the last packets, the file is
// complete), and tshark reads the file.
import { join } from 'node:path';
import { block, showCommand } from './demo-print.js';
import type { DemoShell } from './demo-shell.js';

export interface RecordingDemoResult {
  ok: boolean;
  /** tshark's lines, one per recorded packet */
  lines: string[];
  command: string;
}

/**
 * Records `requests` HTTP requests from client c1 to `vip` (ingress and egress) into a pcapng file
 * in `dir` and returns what tshark printed. Commands and their output are shown as they run.
 */
export async function recordRequests(shell: DemoShell, dir: string, vip: string, requests: number): Promise<RecordingDemoResult> {
  const lab = shell.lab;
  const c1 = lab.node('c1');
  const file = join(dir, 'requests.pcapng');
  const filter = `${c1.ipv4} any -> ${vip} 80 tcp`;
  // --duration is only a safety net: the recording is stopped with Ctrl-C once the requests are done.
  const args = ['record', filter, '--duration', '30s', '-w', file];
  const rec = shell.spawnXlb('lb1', args);
  try {
    // The CLI says "recording N to FILE" once the daemon has put the capture rules in place.
    await rec.waitForOutput(/^recording \d+ to /, 20_000);
    const shown = rec.stderr.length;
    block(rec.stderr);
    for (let i = 0; i < requests; i++) await shell.run('c1', ['curl', '-sS', '--max-time', '5', lab.url(vip)]);
    showCommand('lb1', 'kill -INT %1      # Ctrl-C: stop recording; the file is complete');
    process.kill(rec.pid!, 'SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const st = await Promise.race([
      rec.exited,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`xlb record did not stop on SIGINT\n${rec.tail()}`)), 15_000))),
    ]).finally(() => clearTimeout(timer));
    if (rec.stderr.slice(shown).trim()) block(rec.stderr.slice(shown));
    // One line per packet: the observation point (pcapng interface), the IP addresses of every
    // layer (egress frames show the tunnel's outer ones first) and tshark's summary.
    const tshark = ['tshark', '-r', file, '-o', 'tcp.analyze_sequence_numbers:FALSE', '-T', 'fields', '-E', 'separator=/s',
      '-e', 'frame.interface_name', '-e', 'ip.src', '-e', 'ip.dst', '-e', '_ws.col.Info'];
    const r = await shell.run('lb1', tshark, { timeoutMs: 60_000 });
    const lines = r.stdout.split('\n').filter((l) => l.trim());
    const points = new Set(lines.map((l) => l.split(' ')[0]));
    // A request is at least SYN, ACK, GET, FIN in, and each goes out again encapsulated.
    const ok = st.code === 0 && lines.length >= requests * 8 && [...points].every((p) => p === 'xlb-ingress' || p === 'xlb-egress');
    return { ok, lines, command: `xlb ${args.join(' ')}` };
  } finally {
    rec.killSync();
  }
}
