// xlb status
import type { Command } from 'commander';
import { examples, withContext } from '../action.js';
import type { CliIo } from '../io.js';
import { statusJson, statusTable } from '../views/status.js';

export function registerStatusCommand(program: Command, io: CliIo): void {
  program
    .command('status')
    .description('the daemon: version, uptime, interfaces with XDP mode and program id, gateway and its MAC, Maglev M and seed, counts, whether the packet recorder is available, health checking, BGP sessions and announced prefixes')
    .addHelpText(
      'after',
      examples([
        ['xlb status', ''],
        ['xlb status -o json | jq .interfaces', 'for scripts'],
      ]),
    )
    .action(
      withContext(io, async (ctx) => {
        const status = await ctx.client().getStatus();
        ctx.print(statusJson(status), () => statusTable(status));
      }),
    );
}
