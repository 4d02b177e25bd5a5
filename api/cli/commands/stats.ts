// xlb stats [SERVICE] [--watch [SECONDS]] [--count N]
import type { Command } from 'commander';
import { examples, withContext } from '../action.js';
import { parsePositiveInt, secondsParser } from '../args.js';
import type { CliContext } from '../context.js';
import type { CliIo } from '../io.js';
import { toJson } from '../render/json.js';
import { RateMemory, statsJson, statsTable } from '../views/stats.js';

const DEFAULT_WATCH_SECONDS = 2;
const CLEAR_SCREEN = '\x1b[H\x1b[2J';

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

async function frame(ctx: CliContext, service: string | undefined, rates: RateMemory | undefined): Promise<string> {
  const client = ctx.client();
  const stats = await client.getStats(service ?? '');
  if (ctx.json) return `${toJson(statsJson(stats), rates ? 0 : 2)}\n`;
  // Weights come from the service list; stats alone do not carry them.
  const services = service ? [await client.getService(service)] : await client.listServices();
  return statsTable(stats, services, rates);
}

export function registerStatsCommand(program: Command, io: CliIo): void {
  program
    .command('stats')
    .description('datapath counters: per service and backend packets and bytes, verdicts, drop reasons, flow table, ICMP')
    .argument('[service]', 'only this service (VIP:PORT/PROTO); global figures are shown either way')
    .option('-w, --watch [seconds]', `refresh every SECONDS (default ${DEFAULT_WATCH_SECONDS}) with rates; Ctrl-C stops`, secondsParser(0.1))
    .option('-n, --count <n>', 'with --watch: stop after N refreshes', parsePositiveInt)
    .addHelpText(
      'after',
      '\nCounters are cumulative since the datapath was loaded (they survive daemon restarts).\n' +
        'With -o json --watch, each refresh is one JSON object per line.\n' +
        examples([
          ['xlb stats', 'everything once'],
          ['xlb stats 10.0.0.10:80/tcp --watch 1', 'one service, packets/s and bits/s every second'],
          ['xlb stats -o json --watch 5 --count 12', 'a minute of samples for a script'],
        ]),
    )
    .action(
      withContext(io, async (ctx, service: string | undefined, o: { watch?: number | true; count?: number }) => {
        if (o.watch === undefined) {
          ctx.io.out(await frame(ctx, service, undefined));
          return;
        }
        const intervalMs = (o.watch === true ? DEFAULT_WATCH_SECONDS : o.watch) * 1000;
        const rates = new RateMemory();
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          for (let n = 1; !stop.signal.aborted; n++) {
            const text = await frame(ctx, service, rates);
            if (ctx.json) ctx.io.out(text);
            else {
              const head = `every ${intervalMs / 1000}s, ${new Date().toLocaleTimeString()}${ctx.io.isTTY ? '   (Ctrl-C to stop)' : ''}\n\n`;
              ctx.io.out((ctx.io.isTTY ? CLEAR_SCREEN : n > 1 ? '\n' : '') + head + text);
            }
            if (o.count !== undefined && n >= o.count) break;
            await pause(intervalMs, stop.signal);
          }
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      }),
    );
}
