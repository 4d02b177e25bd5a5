// Last-resort teardown: labs still alive when the process exits or is interrupted are destroyed
// synchronously, so a crashed or Ctrl-C'd test run leaves no namespaces, processes or pins behind.
export interface SyncDestroyable {
  destroySync(): void;
}

const live = new Set<SyncDestroyable>();
let hooksInstalled = false;

function destroyAllSync(): void {
  for (const lab of [...live]) {
    live.delete(lab);
    try {
      lab.destroySync();
    } catch (err) {
      process.stderr.write(`lab cleanup failed: ${(err as Error).message}\n`);
    }
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', destroyAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      destroyAllSync();
      // Our listener is gone now: re-raise so the default action (or other listeners) still runs.
      process.kill(process.pid, signal);
    });
  }
}

export function registerLive(lab: SyncDestroyable): void {
  installHooks();
  live.add(lab);
}

export function unregisterLive(lab: SyncDestroyable): void {
  live.delete(lab);
}
