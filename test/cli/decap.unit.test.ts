// `xlb decap` without a kernel: the command line (help, option parsing) and what attach/status
// print. The attach itself (tc, pins, the program) is test/decap/decap.lab.test.ts and
// test/cli/server.lab.test.ts; the datapath effect of each option is test/decap/program.kernel.test.ts.
import { describe, expect, it } from 'vitest';
import { decapAttachJson, decapAttachText, decapStatusJson, decapStatusTable } from '../../api/cli/views/decap.js';
import type { DecapAttachResult, DecapStatus } from '../../lb/decap/index.js';
import { zeroCounters } from '../../lb/decap/layout.js';
import { runCliInProcess } from './run.js';

const attached = (allowForwardedInner: boolean): DecapAttachResult => ({
  ifindex: 2, progId: 41, pinDir: '/sys/fs/bpf/xlb/decap/host_eth0', addresses: ['10.3.1.2'], allowedSources: ['192.0.2.10/32'],
  allowForwardedInner, reused: false,
});
const status = (allowForwardedInner: boolean | undefined): DecapStatus => ({
  ifname: 'eth0', ifindex: 2, pinDir: '/sys/fs/bpf/xlb/decap/host_eth0', attached: true, pinned: true, progId: 41, attachedProgId: 41,
  addresses: ['10.3.1.2'], allowedSources: ['192.0.2.10/32'], ...(allowForwardedInner === undefined ? {} : { allowForwardedInner }),
  counters: zeroCounters(),
});

describe('xlb decap attach --allow-forwarded-inner', () => {
  it('is an option of decap attach, and its help says what it gives up', async () => {
    const r = await runCliInProcess(['decap', 'attach', '--help']);
    expect(r.code, r.stderr).toBe(0);
    const help = r.stdout.replace(/\s+/g, ' ');
    expect(help).toContain('--allow-forwarded-inner also decapsulate inner packets this host would forward');
    expect(help).toContain('the source allow-list is then the only guard against relaying');
    expect(help).toContain('xlb decap attach --dev eth0 --allow-source 192.0.2.10 --allow-forwarded-inner');
  });

  it('is refused on the other decap commands (it is a load-time setting of attach)', async () => {
    for (const cmd of ['status', 'detach']) {
      const r = await runCliInProcess(['decap', cmd, '--dev', 'eth0', '--allow-forwarded-inner']);
      expect(r.code, cmd).toBe(2);
      expect(r.stderr, cmd).toMatch(/^xlb: .*unknown option '--allow-forwarded-inner'/);
    }
  });

  it('attach output: allow_forwarded_inner in JSON, one line of text only when on', () => {
    expect(decapAttachJson(attached(true))).toMatchObject({ allow_forwarded_inner: true });
    expect(decapAttachJson(attached(false))).toMatchObject({ allow_forwarded_inner: false });
    expect(decapAttachText('eth0', attached(true))).toBe(
      'decap attached to eth0 (program 41)\npinned in /sys/fs/bpf/xlb/decap/host_eth0\ndecapsulating for 10.3.1.2\nfrom 192.0.2.10/32\n' +
        'inner packets this host forwards are accepted (--allow-forwarded-inner)\n',
    );
    expect(decapAttachText('eth0', attached(false))).toBe(
      'decap attached to eth0 (program 41)\npinned in /sys/fs/bpf/xlb/decap/host_eth0\ndecapsulating for 10.3.1.2\nfrom 192.0.2.10/32\n',
    );
  });

  it('status output: allow_forwarded_inner true / false / null (unknown), and a "forwarded inner" line', () => {
    expect(decapStatusJson(status(true))).toMatchObject({ allow_forwarded_inner: true });
    expect(decapStatusJson(status(false))).toMatchObject({ allow_forwarded_inner: false });
    expect(decapStatusJson(status(undefined))).toMatchObject({ allow_forwarded_inner: null });
    expect(decapStatusTable(status(true))).toMatch(/^forwarded inner +accepted \(--allow-forwarded-inner\)$/m);
    expect(decapStatusTable(status(false))).toMatch(/^forwarded inner +dropped \(inner_not_local\)$/m);
    expect(decapStatusTable(status(undefined))).toMatch(/^forwarded inner +unknown \(pinned by another xlb version; attach again to reload\)$/m);
  });
});
