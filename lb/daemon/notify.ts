// systemd readiness (Type=notify). Node cannot send on an AF_UNIX datagram socket, so the
// notification goes through systemd's own `systemd-notify` tool. Because the message then comes
// from a child process, not from xlbd's main PID, the unit needs `NotifyAccess=all`
// (systemd/xlbd.service sets it). systemd-notify waits until the manager has processed the
// message (barrier), so it is attributed to the unit even though the child exits at once.
// Without $NOTIFY_SOCKET (not started by systemd) nothing is sent.
import { execFile } from 'node:child_process';

export interface Notifier {
  /** True when $NOTIFY_SOCKET is set. */
  readonly enabled: boolean;
  ready(status: string): Promise<void>;
  reloading(): Promise<void>;
  stopping(): Promise<void>;
  status(text: string): Promise<void>;
}

export function systemdNotifier(o: { command?: string; env?: NodeJS.ProcessEnv; onError?: (e: Error) => void } = {}): Notifier {
  const env = o.env ?? process.env;
  const enabled = Boolean(env.NOTIFY_SOCKET);
  const command = o.command ?? 'systemd-notify';
  const send = (args: string[]) =>
    new Promise<void>((resolve) => {
      if (!enabled) return resolve();
      execFile(command, args, { env, timeout: 10_000 }, (err, _out, stderr) => {
        if (err) o.onError?.(new Error(`${command} ${args.join(' ')}: ${stderr.trim() || err.message}`));
        resolve();
      });
    });
  return {
    enabled,
    ready: (status) => send(['--ready', `--status=${status}`]),
    reloading: () => send(['RELOADING=1']),
    stopping: () => send(['STOPPING=1']),
    status: (text) => send([`--status=${text}`]),
  };
}
