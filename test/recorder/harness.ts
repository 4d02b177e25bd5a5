// Shared helpers of the recorder tests: a sink that keeps everything a recording produced, and a
// way to read its capture file back.
import type { EndReason, RecordingSink, RecordingStats } from '../../recorder/session.js';
import { pcapFrames, tsharkReadBytes, type TsharkPacket } from './tshark.js';

export class MemorySink {
  chunks: Buffer[] = [];
  statsSeen: RecordingStats[] = [];
  started: { id: number; snaplen: number; filters: string[] } | undefined;
  end: { reason: EndReason; stats: RecordingStats } | undefined;

  onStarted(info: { id: number; snaplen: number; filters: string[] }): void {
    this.started = info;
  }

  data(chunk: Buffer): void {
    this.chunks.push(Buffer.from(chunk));
  }

  stats(s: RecordingStats): void {
    this.statsSeen.push(s);
  }

  get file(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Frame bytes of every record (pcap format only). */
  frames(): Buffer[] {
    return pcapFrames(this.file);
  }

  packets(displayFilter?: string): TsharkPacket[] {
    return tsharkReadBytes(this.file, displayFilter);
  }
}

/** A MemorySink as the RecordingSink interface (started/end wired). */
export function memorySink(): { sink: RecordingSink; mem: MemorySink } {
  const mem = new MemorySink();
  return {
    mem,
    sink: {
      started: (i) => mem.onStarted(i),
      data: (c) => mem.data(c),
      stats: (s) => mem.stats(s),
      end: (reason, stats) => (mem.end = { reason, stats }),
    },
  };
}
