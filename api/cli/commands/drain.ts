// xlb drain-node [--undo]
import type { Command } from 'commander';
import { examples, withContext } from '../action.js';
import type { CliIo } from '../io.js';

export function registerDrainCommand(program: Command, io: CliIo): void {
  program
    .command('drain-node')
    .description("take this LB node out of the routers' ECMP set: withdraw every VIP it announces by BGP (kept across restarts until --undo); it keeps forwarding what still arrives")
    .option('--undo', 'announce the VIPs again')
    .addHelpText(
      'after',
      examples([
        ['xlb drain-node', 'before maintenance: routers move new traffic to the other LB nodes'],
        ['xlb drain-node --undo', 'back into service'],
      ]),
    )
    .action(
      withContext(io, async (ctx, o: { undo?: boolean }) => {
        const r = await ctx.client().drainNode(o.undo === true);
        ctx.print({ drained: r.drained, withdrawn: r.withdrawn, announced: r.announced }, () => {
          if (r.drained) return `node drained: ${r.withdrawn.length ? `withdrew ${r.withdrawn.join(' ')}` : 'nothing was announced'}\n`;
          return `node back in service: ${r.announced.length ? `announced ${r.announced.join(' ')}` : 'nothing to announce'}\n`;
        });
      }),
    );
}
