// xlb backend add|del|set
import { Option, type Command } from 'commander';
import type { BackendState } from '../../generated/xlb/v1/BackendState.js';
import { examples, withContext } from '../action.js';
import { parseWeight } from '../args.js';
import { UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { serviceJson, serviceTree } from '../views/service.js';

const SERVICE_ARG = 'service id VIP:PORT/PROTO, e.g. 10.0.0.10:80/tcp';
const ADDRESS_ARG = 'backend IP address (IPv4 or IPv6; IPv6 backends of an IPv4 VIP use 4in6)';

export function registerBackendCommands(program: Command, io: CliIo): void {
  const backend = program
    .command('backend')
    .description("add, remove, reweight and drain a service's backends")
    .addHelpText(
      'after',
      examples([
        ['xlb backend add 10.0.0.10:80/tcp 10.1.0.7 --weight 100', 'add a backend'],
        ['xlb backend set 10.0.0.10:80/tcp 10.1.0.7 --drain', 'no new flows; established ones stay'],
        ['xlb backend del 10.0.0.10:80/tcp 10.1.0.7', 'remove it once drained'],
      ]),
    );

  backend
    .command('add')
    .description('add a backend to a service')
    .argument('<service>', SERVICE_ARG)
    .argument('<address>', ADDRESS_ARG)
    .option('-w, --weight <weight>', 'relative share of new flows, 0..65535 (default 1; 0 = draining)', parseWeight)
    .option('--name <name>', 'label for people and metrics: 1..63 of [A-Za-z0-9._-]')
    .option('--drain', 'add it draining (listed, but no new flows)')
    .addHelpText(
      'after',
      examples([
        ['xlb backend add 10.0.0.10:80/tcp 10.1.0.7', 'weight 1'],
        ['xlb backend add "[2001:db8::10]:443/tcp" 2001:db8:1::7 -w 50 --name web-7', 'IPv6 backend with a name'],
      ]),
    )
    .action(
      withContext(io, async (ctx, id: string, address: string, o: { weight?: number; name?: string; drain?: boolean }) => {
        const svc = await ctx.client().addBackend(id, {
          address,
          ...(o.weight !== undefined ? { weight: o.weight } : {}),
          ...(o.name !== undefined ? { name: o.name } : {}),
          ...(o.drain ? { state: 'BACKEND_STATE_DRAINING' as const } : {}),
        });
        ctx.print({ service: serviceJson(svc) }, () => `added backend ${address} to ${svc.id}\n${serviceTree([svc])}`);
      }),
    );

  backend
    .command('del')
    .alias('delete')
    .description('remove a backend (its flows move to the others; drain it first to let them finish)')
    .argument('<service>', SERVICE_ARG)
    .argument('<address>', ADDRESS_ARG)
    .addHelpText('after', examples([['xlb backend del 10.0.0.10:80/tcp 10.1.0.7', 'flows pinned to it are re-balanced']]))
    .action(
      withContext(io, async (ctx, id: string, address: string) => {
        const svc = await ctx.client().removeBackend(id, address);
        ctx.print({ service: serviceJson(svc) }, () => `removed backend ${address} from ${svc.id}\n${serviceTree([svc])}`);
      }),
    );

  backend
    .command('set')
    .description("change a backend's weight, state or name (its datapath id and flows stay)")
    .argument('<service>', SERVICE_ARG)
    .argument('<address>', ADDRESS_ARG)
    .option('-w, --weight <weight>', 'new weight 0..65535 (without --drain/--activate, 0 drains and >= 1 activates)', parseWeight)
    .addOption(new Option('--drain', 'stop sending new flows to it; established flows stay').conflicts('activate'))
    .addOption(new Option('--activate', 'send new flows to it again (needs a weight >= 1)'))
    .option('--name <name>', 'new name ("" removes it)')
    .addHelpText(
      'after',
      examples([
        ['xlb backend set 10.0.0.10:80/tcp 10.1.0.7 --weight 200', 'reweight'],
        ['xlb backend set 10.0.0.10:80/tcp 10.1.0.7 --drain', 'drain, keeping the weight for later'],
        ['xlb backend set 10.0.0.10:80/tcp 10.1.0.7 --activate', 'undrain with the kept weight'],
      ]),
    )
    .action(
      withContext(io, async (ctx, id: string, address: string, o: { weight?: number; drain?: boolean; activate?: boolean; name?: string }) => {
        if (o.weight === undefined && !o.drain && !o.activate && o.name === undefined) {
          throw new UsageError('backend set: nothing to change; give --weight, --drain, --activate or --name');
        }
        let state: BackendState | undefined;
        if (o.drain) state = 'BACKEND_STATE_DRAINING';
        if (o.activate) state = 'BACKEND_STATE_ACTIVE';
        const { service: svc, changed } = await ctx.client().updateBackend(id, address, { weight: o.weight, state, name: o.name });
        ctx.print({ service: serviceJson(svc), changed }, () =>
          `${changed ? 'updated' : 'no change to'} backend ${address} of ${svc.id}\n${serviceTree([svc])}`,
        );
      }),
    );
}
