// The API's unix socket file: created with its final mode (no window where the mode is wrong), and
// the mode/group step never follows a symlink — if something swapped the socket for a link to
// another file between bind and chmod, that file must not become group-writable.
import { chmodSync, lstatSync, mkdtempSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { finishUnixSocket } from '../../api/server/listen.js';
import { startApiServer, type LoadBalancerControl } from '../../api/server/index.js';
import type { RecorderHandlers } from '../../api/generated/xlb/v1/Recorder.js';

const dir = mkdtempSync(join(tmpdir(), 'xlb-listen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('unix socket file', () => {
  it('finishUnixSocket refuses a symlink and leaves its target alone', () => {
    const target = join(dir, 'precious');
    writeFileSync(target, 'secret');
    chmodSync(target, 0o600);
    const link = join(dir, 'api.sock');
    symlinkSync(target, link);
    expect(() => finishUnixSocket(link, 0o660, undefined)).toThrow(/api\.sock is not a socket \(a symbolic link\); refusing to change its mode or group/);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    unlinkSync(link);
  });

  it('the server creates the socket with the configured mode', async () => {
    const path = join(dir, 'mode.sock');
    const server = await startApiServer({
      control: {} as LoadBalancerControl,
      recorder: {} as RecorderHandlers,
      listen: { kind: 'unix', path, target: `unix://${path}` },
      socketMode: 0o640,
    });
    try {
      const st = lstatSync(path);
      expect(st.isSocket()).toBe(true);
      expect(st.mode & 0o777).toBe(0o640);
    } finally {
      await server.close(0);
    }
  });
});
