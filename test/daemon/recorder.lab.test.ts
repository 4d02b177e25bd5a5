// recorder.enabled through the real xlbd in the lab: false loads the datapath without the recorder
// (the pinned lb_meta says so) and the Record RPC answers FAILED_PRECONDITION naming the setting;
// switching back to auto at the next start is a load-time change (fresh datapath swapped in) after
// which a recording of real HTTP traffic through the VIP holds packets. GetStatus and the real
// `xlb status` (table and JSON) report the recorder's availability, ring size and reason each time.
// recorder.ring_bytes is the size of each recording's own ring, made when the recording starts: not
// a load-time setting (changing it alone does not replace the datapath).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XlbApiError } from '../../api/client/index.js';
import { LbDatapath } from '../../lb/datapath/index.js';
import { RecorderApiClient } from '../../api/client/recorder.js';
import { buildCli, runCli, type CliBuild } from '../cli/run.js';
import { Lab } from '../lab/lab.js';
import { XlbdInstance } from './xlbd.js';

const VIP = '10.100.0.10';
let lab: Lab;
let xlbd: XlbdInstance;
let build: CliBuild;

beforeAll(async () => {
  build = buildCli();
  lab = await Lab.create({ backends: 1, clients: 1, lbNodes: 1, ipv6: false, vips4: [VIP] });
  xlbd = new XlbdInstance({ lab });
}, 180_000);

afterAll(async () => {
  try {
    await xlbd?.dispose();
  } finally {
    await lab?.destroy();
    build?.remove();
  }
});

/** `xlb status` against the running xlbd: the table's recorder line and the JSON fields. */
async function cliStatus(): Promise<{ line: string | undefined; json: Record<string, unknown> }> {
  const server = ['--server', `unix://${xlbd.socket}`];
  const table = await runCli(build, [...server, 'status']);
  expect(table.code, table.stderr).toBe(0);
  const json = await runCli(build, [...server, 'status', '-o', 'json']);
  expect(json.code, json.stderr).toBe(0);
  return { line: /^recorder .*$/m.exec(table.stdout)?.[0], json: JSON.parse(json.stdout) };
}

function pinnedOptions() {
  const dp = LbDatapath.adopt(xlbd.pinDir);
  try {
    return dp.options;
  } finally {
    dp.close();
  }
}

describe('xlbd recorder.enabled', () => {
  it('false: datapath without the recorder; Record → FAILED_PRECONDITION naming recorder.enabled', async () => {
    xlbd.writeConfig({ recorder: { enabled: false, ring_bytes: 65536 } });
    await xlbd.start(['--detach-on-exit']); // the next test starts from nothing pinned
    expect(xlbd.output).toContain(`recorder off: recorder.enabled is false in the configuration (${xlbd.configPath})`);
    expect(pinnedOptions()).toMatchObject({ recorder: false });
    const why = `recorder.enabled is false in the configuration (${xlbd.configPath})`;
    expect(await xlbd.client.call('GetStatus')).toMatchObject({ recorderAvailable: false, recorderNote: why, recorderRingBytes: 65536 });
    const status = await cliStatus();
    expect(status.line).toBe(`recorder  off: ${why}`);
    expect(status.json).toMatchObject({ recorder_available: false, recorder_note: why, recorder_ring_bytes: 65536 });

    const client = RecorderApiClient.connect({ server: `unix://${xlbd.socket}` });
    try {
      const err = await client.record({ filters: [{ dstCidr: VIP }] }, { chunk: () => {} }).done.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(XlbApiError);
      expect((err as XlbApiError).codeName).toBe('FAILED_PRECONDITION');
      expect((err as XlbApiError).details).toBe(
        `the packet recorder is not available: recorder.enabled is false in the configuration (${xlbd.configPath})`,
      );
    } finally {
      client.raw.close();
    }
    await xlbd.stop();
  });

  it('false → auto (pins kept this time): the datapath is replaced and recordings work', async () => {
    await xlbd.start(); // recorder still off; leaves its pins on stop (no --detach-on-exit)
    await xlbd.client.call('CreateService', { service: { id: `${VIP}:80/tcp`, backends: lab.backends.map((b) => ({ address: b.ipv4 })) } });
    await xlbd.stop();

    xlbd.writeConfig({}); // recorder: defaults (auto, 4 MiB)
    await xlbd.start(['--detach-on-exit']);
    expect(xlbd.output).toMatch(/load-time settings changed \(recorder\.enabled false → true\)/);
    expect(xlbd.output).toContain('recorder available (4194304-byte ring per recording, VIP traffic only)');
    expect(pinnedOptions()).toMatchObject({ recorder: true });
    expect(await xlbd.client.call('GetStatus')).toMatchObject({ recorderAvailable: true, recorderNote: '', recorderRingBytes: 4 << 20 });
    const status = await cliStatus();
    expect(status.line).toBe('recorder  available (ring 4 MiB)');
    expect(status.json).toMatchObject({ recorder_available: true, recorder_note: '', recorder_ring_bytes: 4 << 20 });

    const client = RecorderApiClient.connect({ server: `unix://${xlbd.socket}` });
    try {
      let bytes = 0;
      let started = false;
      const call = client.record(
        { filters: [{ dstCidr: VIP, dstPort: 80, proto: 'CAPTURE_PROTOCOL_TCP' }], points: 'CAPTURE_POINTS_INGRESS', maxPackets: 3 },
        { started: () => (started = true), chunk: (c) => (bytes += c.length) },
      );
      await new Promise((r) => setTimeout(r, 300));
      const load = await lab.httpLoad('c1', { url: lab.url(VIP), connections: 2, concurrency: 1 });
      expect(load.failed).toBe(0);
      const end = await call.done;
      expect(started).toBe(true);
      expect(end?.reason).toBe('RECORD_END_REASON_MAX_PACKETS');
      expect(end?.stats).toMatchObject({ captured: '3', lost: '0' });
      expect(bytes).toBeGreaterThan(24 + 3 * (16 + 54)); // pcap header + 3 records of at least a TCP/IPv4 frame
    } finally {
      client.raw.close();
    }
    await xlbd.stop();
  });
});
