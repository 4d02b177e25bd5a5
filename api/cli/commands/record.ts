// xlb record FILTER [FILTER ...] -w FILE|- [--snaplen N] [--count N] [--bytes N] [--duration 10s]
//            [--point ingress|egress|both] [--format pcap|pcapng] [--quiet]
// Streams a recording of the datapath (xlb.v1.Recorder/Record) into a pcap/pcapng file or stdout.
// The filter grammar lives in recorder/filter.ts (docs/recorder.md).
import { accessSync, closeSync, constants, fchmodSync, fstatSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { RecordEnd__Output } from '../../generated/xlb/v1/RecordEnd.js';
import type { RecordStats__Output } from '../../generated/xlb/v1/RecordStats.js';
import { FilterSyntaxError, parseFilters, ruleToSpec } from '../../../recorder/index.js';
import { RecorderApiClient } from '../../client/index.js';
import type { CaptureProtocol } from '../../generated/xlb/v1/CaptureProtocol.js';
import { examples, withContext } from '../action.js';
import { parsePositiveInt } from '../args.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import type { CliIo } from '../io.js';

interface RecordOptions {
  write: string;
  snaplen?: number;
  count?: number;
  bytes?: number;
  duration?: number; // ms
  point: 'ingress' | 'egress' | 'both';
  format?: 'pcap' | 'pcapng';
  quiet?: boolean;
}

const PROTO_ENUM: Record<string, CaptureProtocol> = {
  any: 'CAPTURE_PROTOCOL_ANY',
  tcp: 'CAPTURE_PROTOCOL_TCP',
  udp: 'CAPTURE_PROTOCOL_UDP',
  icmp: 'CAPTURE_PROTOCOL_ICMP',
};

const END_TEXT: Record<string, string> = {
  RECORD_END_REASON_MAX_PACKETS: 'packet count reached',
  RECORD_END_REASON_MAX_BYTES: 'byte limit reached',
  RECORD_END_REASON_MAX_DURATION: 'duration reached',
  RECORD_END_REASON_STOPPED: 'stopped',
  RECORD_END_REASON_SHUTDOWN: 'the daemon shut down',
};

/** "10s", "500ms", "2m", "1h", "1.5" (seconds) → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^([0-9]*\.?[0-9]+)(ms|s|m|h)?$/.exec(text);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m?.[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = m ? Math.round(Number(m[1]) * unit) : NaN;
  if (!Number.isFinite(ms) || ms < 1) throw new InvalidArgumentError('must be a duration like 10s, 500ms, 2m or 1h (at least 1ms).');
  return ms;
}

/** A whole number ≥ 1 with an optional k/M/G suffix (×1000ⁿ): --bytes 10M. */
export function parseByteCount(text: string): number {
  const m = /^([1-9][0-9]*)([kKmMgG]?)$/.exec(text);
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[(m?.[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g'];
  const n = m ? Number(m[1]) * mult : NaN;
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('must be a whole number >= 1, optionally with k, M or G (×1000).');
  return n;
}

function parseSnaplen(text: string): number {
  if (!/^[1-9][0-9]*$/.test(text) || Number(text) > 0xffffffff) throw new InvalidArgumentError('must be a whole number >= 1.');
  return Number(text);
}

/**
 * Where the capture goes. A file is written synchronously, one whole chunk (whole packets) at a
 * time, so it is a valid capture after every write. stdout goes through Node's stream: when its
 * reader (tshark, Wireshark) is slower than the recording, `onFull` pauses the gRPC stream, so
 * flow control pushes back to the daemon, which then drops and counts the excess as lost instead
 * of buffering without bound.
 */
class Output {
  readonly #fd: number | undefined;
  broken: NodeJS.ErrnoException | undefined;
  onFull: (() => void) | undefined;
  onDrain: (() => void) | undefined;

  constructor(target: string) {
    if (target !== '-') {
      // Recordings carry payloads (credentials, cookies): readable by their owner only, also when
      // an existing file is overwritten.
      this.#fd = openSync(target, 'w', 0o600);
      // Only a regular file: `-w /dev/null` (or a FIFO) must not change the device's mode.
      if (fstatSync(this.#fd).isFile()) fchmodSync(this.#fd, 0o600);
      return;
    }
    process.stdout.on('error', (e: NodeJS.ErrnoException) => (this.broken ??= e));
    process.stdout.on('drain', () => this.onDrain?.());
  }

  write(chunk: Buffer): void {
    if (this.broken) return;
    if (this.#fd === undefined) {
      if (!process.stdout.write(chunk)) this.onFull?.();
      return;
    }
    try {
      for (let off = 0; off < chunk.length; ) off += writeSync(this.#fd, chunk, off);
    } catch (e) {
      this.broken = e as NodeJS.ErrnoException;
    }
  }

  async close(): Promise<void> {
    if (this.#fd === undefined) {
      if (!this.broken && process.stdout.writableLength > 0) {
        await new Promise<void>((resolve) => {
          process.stdout.once('drain', resolve);
          process.stdout.once('error', () => resolve());
        });
      }
      return;
    }
    try {
      // Only a regular file has anything to flush: fsync on /dev/null or a FIFO fails (EINVAL).
      if (fstatSync(this.#fd).isFile()) fsyncSync(this.#fd);
    } finally {
      closeSync(this.#fd);
    }
  }
}

/** Bytes received between two young-generation collections (see youngCollector). */
export const COLLECT_EVERY_BYTES = 2 << 20;

/**
 * A function that runs V8's young-generation collection now. Each message of a recording passes
 * through ~1 MiB of short-lived Buffers (gRPC's frame copies and its reassembled message), which V8
 * frees only when it collects, by default after tens of MiB; in between, malloc hands out fresh
 * memory and every 4 KiB page of it costs a page fault (measured 39 µs per page on the CI VMs:
 * ~9 ms per MiB, which made this process the slow end of a recording while it looked idle).
 * Collecting every COLLECT_EVERY_BYTES gives the freed blocks back to malloc while they are still
 * mapped, so the next messages reuse them. A minor collection of a young generation that holds
 * little else takes well under a millisecond.
 */
function youngCollector(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (o?: { type: 'minor' | 'major' }) => void;
  return () => gc({ type: 'minor' });
}

/**
 * Makes this process's malloc keep the ~1 MiB blocks each message passes through (gRPC's
 * reassembled message) on its heap for reuse, as xlbd does (recorder/recorder.ts KEEP_FREED):
 * glibc's default serves them with mmap at first and returns them to the kernel when freed, and
 * every page of the next one then costs a fault (39 µs here). Measured with recorder-profile at
 * 150 kpps of 1 KiB frames: the copy into that buffer took 0.1–2.2 ms per MB, run to run, without
 * this; ≈ 0.2 ms per MB with it. Through libbpf-ts's addon (the only native code xlb has), loaded
 * only here; a CLI without the addon records as before.
 */
async function keepFreedBlocks(): Promise<void> {
  try {
    const { allocatorKeepFreed } = await import('../../../bpf/libbpf-ts/index.js');
    allocatorKeepFreed(8 << 20, 64 << 20);
  } catch {
    // no native addon here: only slower
  }
}

function progressLine(s: RecordStats__Output): string {
  return `${s.matched} matched, ${s.captured} captured (${s.capturedBytes} bytes), ${s.lost} lost`;
}

async function record(ctx: CliContext, filters: string[], o: RecordOptions): Promise<void> {
  let rules;
  try {
    rules = parseFilters(filters);
  } catch (e) {
    if (e instanceof FilterSyntaxError) {
      ctx.io.err(`${e.pointer('  ')}\n`);
      throw new UsageError(`bad filter: ${e.problem} (grammar: SRC [PORT] -> DST [PORT] [tcp|udp|icmp|any], IPv6 in brackets)`);
    }
    throw e;
  }
  const format = o.format ?? (o.write.endsWith('.pcapng') ? 'pcapng' : 'pcap');
  const g = ctx.options;
  const client = RecorderApiClient.connect({
    server: g.server,
    insecure: g.insecure === true,
    tls: { ca: g.tlsCa, cert: g.tlsCert, key: g.tlsKey, serverName: g.tlsServerName },
  });
  // The file is opened when the daemon has accepted the recording: a refused start or an
  // unreachable daemon leaves an existing file untouched.
  if (o.write !== '-') {
    try {
      accessSync(dirname(o.write), constants.W_OK);
    } catch (e) {
      throw new UsageError(`-w ${o.write}: cannot write there (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  let out: Output | undefined;
  let openError: Error | undefined;
  const openOutput = (): Output | undefined => {
    if (out || openError) return out;
    try {
      out = new Output(o.write);
    } catch (e) {
      openError = new Error(`-w ${o.write}: ${(e as Error).message}`);
      call.cancel();
      return undefined;
    }
    out.onFull = () => call.pause();
    out.onDrain = () => call.resume();
    return out;
  };
  const io = ctx.io;
  const live = process.stderr.isTTY === true && !o.quiet;
  let lastStats: RecordStats__Output | undefined;
  let stopping = 0;
  const collectYoung = youngCollector();
  await keepFreedBlocks();
  let sinceCollect = 0;
  const call = client.record(
    {
      filters: rules.map((r) => {
        const s = ruleToSpec(r);
        return { srcCidr: s.srcCidr, dstCidr: s.dstCidr, srcPort: s.srcPort, dstPort: s.dstPort, proto: PROTO_ENUM[s.proto]! };
      }),
      snaplen: o.snaplen ?? 0,
      points: o.point === 'ingress' ? 'CAPTURE_POINTS_INGRESS' : o.point === 'egress' ? 'CAPTURE_POINTS_EGRESS' : 'CAPTURE_POINTS_BOTH',
      maxPackets: o.count ?? 0,
      maxBytes: o.bytes ?? 0,
      maxDurationMs: o.duration ?? 0,
      format: format === 'pcapng' ? 'CAPTURE_FORMAT_PCAPNG' : 'CAPTURE_FORMAT_PCAP',
    },
    {
      started: (s) => {
        openOutput();
        if (!o.quiet) {
          io.err(
            `recording ${s.recordingId} to ${o.write === '-' ? 'stdout' : o.write} (${format}, snaplen ${s.snaplen}, ${o.point}): ` +
              `${s.filters.join(' | ')}${live ? '; Ctrl-C stops' : ''}\n`,
          );
        }
      },
      chunk: (bytes) => {
        const file = openOutput();
        if (!file) return;
        file.write(bytes);
        sinceCollect += bytes.length;
        if (sinceCollect >= COLLECT_EVERY_BYTES) {
          sinceCollect = 0;
          collectYoung();
        }
        if (file.broken && !stopping) {
          // The reader of stdout went away (e.g. `| head`): nothing more can be written.
          stopping = 2;
          call.cancel();
        }
      },
      stats: (s) => {
        lastStats = s;
        if (o.quiet) return;
        if (live) io.err(`\r\x1b[K${progressLine(s)}`);
        else io.err(`${progressLine(s)}\n`);
      },
    },
  );

  // First Ctrl-C: ask the daemon to stop; it sends the last packets and the end, and the file is
  // complete. A second one: leave at once (the file still ends on a whole packet).
  const onSignal = () => {
    stopping++;
    if (stopping === 1) {
      if (live) io.err('\r\x1b[K');
      if (!o.quiet) io.err('stopping…\n');
      call.stop();
    } else call.cancel();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let end: RecordEnd__Output | undefined;
  try {
    end = await call.done;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await out?.close();
    client.close();
  }
  if (openError) throw openError;
  if (live) io.err('\r\x1b[K');
  const final = end?.stats ?? lastStats;
  if (!o.quiet && final) {
    const why = end ? END_TEXT[end.reason] ?? String(end.reason) : out?.broken ? 'output closed' : 'cancelled';
    io.err(`${progressLine(final)} — ${why}\n`);
  }
  if (final && final.lost !== '0') {
    io.err(`xlb: warning: ${final.lost} of ${final.matched} matched packets were lost (ring buffer full or output too slow)\n`);
  }
  const broken = out?.broken;
  if (broken && broken.code !== 'EPIPE') throw new Error(`writing ${o.write === '-' ? 'stdout' : o.write}: ${broken.message}`);
}

export function registerRecordCommand(program: Command, io: CliIo): void {
  program
    .command('record')
    .description('record packets inside the XDP datapath to a pcap/pcapng file or stdout (live to tshark/Wireshark)')
    .argument('<filter...>', 'SRC [PORT] -> DST [PORT] [PROTO], one quoted argument per filter; packets matching any are recorded')
    .requiredOption('-w, --write <file>', 'capture file, or - for stdout')
    .option('--snaplen <n>', 'bytes kept per packet (1..4096; default the whole frame)', parseSnaplen)
    .option('-c, --count <n>', 'stop after N packets', parsePositiveInt)
    .option('--bytes <n>', 'stop before the captured bytes exceed N (k/M/G suffixes)', parseByteCount)
    .option('-d, --duration <time>', 'stop after this long (10s, 500ms, 2m, 1h)', parseDuration)
    .addOption(new Option('--point <point>', 'observation point: as received, as sent (encapsulated), or both').choices(['ingress', 'egress', 'both']).default('both'))
    .addOption(new Option('--format <format>', 'file format (default: pcapng for *.pcapng, else pcap)').choices(['pcap', 'pcapng']))
    .option('-q, --quiet', 'no progress on stderr')
    .addHelpText(
      'after',
      '\nFilter grammar:  SRC [SPORT] -> DST [DPORT] [PROTO]\n' +
        '  SRC, DST  any | ADDRESS | ADDRESS/LEN   (IPv6 in brackets: [2001:db8::1], [2001:db8::]/32)\n' +
        '  PORT      any | * | 1..65535            (omitted = any)\n' +
        '  PROTO     tcp | udp | icmp | any        (omitted = any; icmp means ICMPv6 for IPv6)\n' +
        'Both points match the client packet as received: egress records show what xlb sent for it\n' +
        '(IPIP / IP6IP6 towards the backend). pcapng marks each packet: interface xlb-ingress / xlb-egress,\n' +
        'direction inbound / outbound (Wireshark: frame.interface_name, frame.packet_flags_direction).\n' +
        'Ctrl-C stops and leaves a complete file. Progress goes to stderr.\n' +
        examples([
          ['xlb record "any -> 10.100.0.10 80 tcp" -w web.pcap -c 100', '100 packets to a VIP (ingress and egress)'],
          ['xlb record "10.1.1.2 any -> 10.100.0.10 80 tcp" -w - | tshark -r -', 'one client, live in tshark'],
          ['xlb record "any -> [fd00:100::10] 443" --point egress -w - | wireshark -k -i -', 'IPv6 VIP, as sent, live in Wireshark'],
          ['xlb record "10.0.0.0/8 -> any udp" "any -> 10.100.0.10 icmp" -d 30s -w cap.pcapng', 'two filters, 30 seconds, pcapng'],
        ]),
    )
    .action(withContext(io, (ctx, filters: string[], o: RecordOptions) => record(ctx, filters, o)));
}
