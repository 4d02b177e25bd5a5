// xlb service add|del|list|show|set
import type { Command } from 'commander';
import type { Backend } from '../../generated/xlb/v1/Backend.js';
import type { Service } from '../../generated/xlb/v1/Service.js';
import { examples, withContext } from '../action.js';
import { collectBackend, parseTableSize, type BackendArg } from '../args.js';
import { UsageError } from '../errors.js';
import type { CliIo } from '../io.js';
import { counterIndex, serviceJson, serviceTree } from '../views/service.js';
import { addCheckOptions, hasCheckOptions, healthCheckFromOptions, type CheckOptions } from '../health-options.js';

const SERVICE_ARG = 'service id VIP:PORT/PROTO, e.g. 10.0.0.10:80/tcp, [2001:db8::10]:443/tcp, 10.0.0.10:*/udp (all ports)';
const TABLE_SIZE_HELP =
  'Maglev table size M (a prime: 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65537, 131071); more slots keep shares ' +
  'closer to the weights with many backends and cost kernel memory (16381: 68 KiB, 65537: 264 KiB); default: the daemon\'s';

function backendFromArg(b: BackendArg): Backend {
  return b.weight === undefined ? { address: b.address } : { address: b.address, weight: b.weight };
}

export function registerServiceCommands(program: Command, io: CliIo): void {
  const service = program
    .command('service')
    .description('create, delete, change, list and inspect services')
    .addHelpText(
      'after',
      examples([
        ['xlb service add 10.0.0.10:80/tcp -b 10.1.0.5 -b 10.1.0.6=2', 'a service with two backends (weights 1 and 2)'],
        ['xlb service add "[2001:db8::10]:443/tcp" --source-hash', 'IPv6 VIP, client persistence'],
        ['xlb service add 10.0.0.10:80/tcp -b 10.1.0.5 --check http:/healthz', 'with an HTTP health check (through the tunnel)'],
        ["xlb service add '10.0.0.10:*/udp'", 'every UDP port of the VIP (quote the *)'],
        ['xlb service list', 'every service with its backends and counters'],
        ['xlb service show 10.0.0.10:80/tcp -o json', 'one service, as JSON'],
        ['xlb service set 10.0.0.10:80/tcp --no-source-hash', 'change a flag'],
        ['xlb service del 10.0.0.10:80/tcp', 'delete it and its backends'],
      ]),
    );

  const add = service
    .command('add')
    .description('create a service, optionally with backends and a health check')
    .argument('<service>', SERVICE_ARG)
    .option('--source-hash', 'client persistence: hash the client address only, so all its connections land on one backend')
    .option('-b, --backend <address[=weight]>', 'a backend (repeatable); weight defaults to 1', collectBackend)
    .option('--table-size <M>', TABLE_SIZE_HELP, parseTableSize);
  addCheckOptions(add, false)
    .addHelpText(
      'after',
      examples([
        ['xlb service add 10.0.0.10:80/tcp', 'an empty service (add backends later)'],
        ['xlb service add 10.0.0.10:80/tcp -b 10.1.0.5=100 -b 2001:db8:1::5=100', 'IPIP and 4in6 backends'],
        ['xlb service add 10.0.0.20:443/tcp --table-size 65537', 'a bigger table, for a service with hundreds of backends'],
        ['xlb service add 10.0.0.10:80/tcp -b 10.1.0.5 --check http:/healthz --check-interval 2s --check-timeout 1s --rise 2 --fall 3', 'HTTP health check'],
        ["xlb service add '10.0.0.10:*/udp' --check udp --check-port 53 --check-payload ping --no-fail-open", 'UDP check; drop when all are down'],
      ]),
    )
    .action(
      withContext(io, async (ctx, id: string, o: { sourceHash?: boolean; backend?: BackendArg[]; tableSize?: number } & CheckOptions) => {
        if (hasCheckOptions(o) && o.check === undefined) throw new UsageError('service add: --check KIND is needed for the other health-check options');
        const created = await ctx.client().createService({
          id,
          flags: { sourceHash: o.sourceHash === true },
          tableSize: o.tableSize ?? 0,
          backends: (o.backend ?? []).map(backendFromArg),
          ...(o.check === undefined ? {} : { healthCheck: healthCheckFromOptions(o) }),
        });
        ctx.print({ service: serviceJson(created) }, () => `created service ${created.id}\n${serviceTree([created])}`);
      }),
    );

  service
    .command('del')
    .alias('delete')
    .description('delete a service and all its backends')
    .argument('<service>', SERVICE_ARG)
    .addHelpText('after', examples([["xlb service del '10.0.0.10:*/udp'", 'its established flows stop being balanced']]))
    .action(
      withContext(io, async (ctx, id: string) => {
        await ctx.client().deleteService(id);
        ctx.print({}, () => `deleted service ${id}\n`);
      }),
    );

  service
    .command('list')
    .alias('ls')
    .description('list every service with its backends, weights, states and counters')
    .addHelpText(
      'after',
      examples([
        ['xlb service list', 'ipvsadm-like tree'],
        ['xlb service list -o json > services.json', 'the desired state; `xlb apply -f services.json` reads it back'],
      ]),
    )
    .action(
      withContext(io, async (ctx) => {
        const client = ctx.client();
        const services = await client.listServices();
        if (ctx.json) {
          ctx.print({ services: services.map(serviceJson) }, () => '');
          return;
        }
        const stats = await client.getStats();
        ctx.io.out(services.length ? serviceTree(services, counterIndex(stats)) : 'no services\n');
      }),
    );

  service
    .command('show')
    .alias('get')
    .description('one service with its backends, weights, states and counters')
    .argument('<service>', SERVICE_ARG)
    .addHelpText('after', examples([['xlb service show "[2001:db8::10]:443/tcp"', 'brackets around IPv6 VIPs']]))
    .action(
      withContext(io, async (ctx, id: string) => {
        const client = ctx.client();
        const svc = await client.getService(id);
        if (ctx.json) {
          ctx.print({ service: serviceJson(svc) }, () => '');
          return;
        }
        ctx.io.out(serviceTree([svc], counterIndex(await client.getStats(svc.id))));
      }),
    );

  const set = service
    .command('set')
    .description("change a service's flags, table size or health check (backends: see `xlb backend`)")
    .argument('<service>', SERVICE_ARG)
    .option('--source-hash', 'client persistence on')
    .option('--no-source-hash', 'client persistence off (hash the whole 5-tuple)')
    .option('--table-size <M>', `${TABLE_SIZE_HELP}; the table is rebuilt at the new size`, parseTableSize);
  addCheckOptions(set, true)
    .addHelpText(
      'after',
      examples([
        ['xlb service set 10.0.0.10:80/tcp --source-hash', 'turn client persistence on'],
        ['xlb service set 10.0.0.10:80/tcp --table-size 65537', 'a bigger Maglev table'],
        ['xlb service set 10.0.0.10:80/tcp --check tcp --rise 1', 'replace the health check'],
        ['xlb service set 10.0.0.10:80/tcp --check-mode direct', 'change one setting of the current check'],
        ['xlb service set 10.0.0.10:80/tcp --check none', 'remove the health check'],
      ]),
    )
    .action(
      withContext(io, async (ctx, id: string, o: { sourceHash?: boolean; tableSize?: number } & CheckOptions) => {
        const checks = hasCheckOptions(o);
        if (o.sourceHash === undefined && o.tableSize === undefined && !checks) {
          throw new UsageError('service set: nothing to change; give --source-hash, --no-source-hash, --table-size or health-check options (--check ...)');
        }
        const client = ctx.client();
        // UpdateService sets all flags at once and the check as a whole: start from the current ones.
        const current = await client.getService(id);
        const update: Service = { id, flags: { sourceHash: o.sourceHash ?? current.flags?.sourceHash ?? false }, tableSize: o.tableSize ?? 0 };
        if (checks) {
          if (o.check === undefined && !current.healthCheck) {
            throw new UsageError(`service set: ${current.id} has no health check; give --check KIND to add one`);
          }
          update.healthCheck = healthCheckFromOptions(o, o.check === undefined ? current.healthCheck : o.check === 'none' ? undefined : current.healthCheck);
        }
        const { service: svc, changed } = await client.updateService(update);
        ctx.print({ service: serviceJson(svc), changed }, () =>
          `${changed ? 'updated' : 'no change to'} service ${svc.id}\n${serviceTree([svc])}`,
        );
      }),
    );
}
