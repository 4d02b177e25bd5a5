// The last line of defence: an exception nobody caught — thrown in a timer, a ring-buffer or
// netlink callback, an event listener, or a promise nobody awaited — would end the process, and
// with it the API, the gateway watch and the recordings (the datapath keeps forwarding, but nobody
// manages it). xlbd logs it with its stack and keeps serving instead; every such error is a bug,
// counted (xlb_internal_errors_total) so it does not go unnoticed. The stacks go to the log only,
// never to an API client. At most LOG_PER_MINUTE stacks a minute are written, so a timer failing
// in a loop cannot flood the journal.
import type { Logger } from './log.js';

const LOG_PER_MINUTE = 10;

export interface CrashGuard {
  /** Uncaught errors seen since install. */
  readonly count: number;
  uninstall(): void;
}

export function installCrashGuard(log: Logger, onError: (origin: string) => void = () => {}): CrashGuard {
  let count = 0;
  let windowStart = 0;
  let inWindow = 0;
  let suppressed = 0;
  const handler = (err: unknown, origin: string) => {
    count++;
    const kind = origin === 'unhandledRejection' ? 'unhandled promise rejection' : 'uncaught exception';
    try {
      onError(origin);
    } catch {
      // the counter must not become a second failure
    }
    const now = Date.now();
    if (now - windowStart >= 60_000) {
      if (suppressed) log.error(`${suppressed} more internal errors in the last minute (stacks not logged)`);
      windowStart = now;
      inWindow = 0;
      suppressed = 0;
    }
    if (++inWindow > LOG_PER_MINUTE) {
      suppressed++;
      return;
    }
    const text = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
    log.error(`internal error (${kind}), xlbd keeps running: ${text}`);
  };
  process.on('uncaughtException', handler);
  return {
    get count() {
      return count;
    },
    uninstall() {
      process.off('uncaughtException', handler);
    },
  };
}
