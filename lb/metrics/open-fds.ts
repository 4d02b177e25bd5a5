// process_open_fds without listing /proc/self/fd on the scrape's path. prom-client's own gauge
// reads the directory synchronously in every scrape; xlbd holds an fd per Maglev table, so at
// 10 000 services that was ~15 ms of the event loop per scrape (measured with a CPU profile).
// Here a scrape reports the count from the previous listing, made in the background by the thread
// pool (fs.promises.readdir); only the first scrape lists synchronously. The figure is therefore
// one scrape old, which a gauge of open fds can afford.
import { readdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { Gauge, type Registry } from 'prom-client';

export const OPEN_FDS = 'process_open_fds';

/** The directory is /proc/self/fd on Linux; tests may point elsewhere. */
export function registerOpenFds(registry: Registry, dir = '/proc/self/fd'): Gauge<never> {
  let last: number | undefined;
  let listing = false;
  // The listing's own fd is in it.
  const count = (names: string[]) => names.length - 1;
  const refresh = () => {
    if (listing) return;
    listing = true;
    readdir(dir)
      .then((names) => (last = count(names)))
      .catch(() => undefined)
      .finally(() => (listing = false));
  };
  return new Gauge({
    name: OPEN_FDS,
    help: 'Number of open file descriptors (as of the previous scrape: listed in the background).',
    registers: [registry],
    collect(this: Gauge<never>) {
      if (last === undefined) {
        try {
          last = count(readdirSync(dir));
        } catch {
          // No /proc: the gauge stays without a sample, as prom-client's does.
          return;
        }
      } else refresh();
      this.set(last);
    },
  });
}
