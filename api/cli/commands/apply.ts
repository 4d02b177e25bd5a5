// xlb apply -f FILE [--dry-run]
import type { Command } from 'commander';
import type { ApplyResponse__Output } from '../../generated/xlb/v1/ApplyResponse.js';
import { XlbApiError } from '../../client/index.js';
import { examples, withContext } from '../action.js';
import { CliFailure } from '../errors.js';
import type { CliIo } from '../io.js';
import { renderTable } from '../render/table.js';
import { readServicesFile } from '../services-file.js';

function applyJson(r: ApplyResponse__Output) {
  return { created: r.created, updated: r.updated, deleted: r.deleted, unchanged: r.unchanged, dry_run: r.dryRun };
}

function applyText(r: ApplyResponse__Output): string {
  const rows: string[][] = [];
  for (const [what, ids] of [['created', r.created], ['updated', r.updated], ['deleted', r.deleted], ['unchanged', r.unchanged]] as const) {
    for (const id of ids) rows.push([what, id]);
  }
  const head = r.dryRun ? 'dry run: nothing was changed; apply would do this:\n' : '';
  const sum = `${r.created.length} created, ${r.updated.length} updated, ${r.deleted.length} deleted, ${r.unchanged.length} unchanged\n`;
  return head + renderTable(rows) + sum;
}

export function registerApplyCommand(program: Command, io: CliIo): void {
  program
    .command('apply')
    .description(
      'make the API-managed services exactly those in a YAML/JSON file: create what is missing, update what differs, ' +
        'delete the others (services declared in the daemon config file are never touched)',
    )
    .requiredOption('-f, --file <file>', 'services file ("-" = standard input): a list of services, or { services: [...] }')
    .option('--dry-run', 'validate and show what would change, change nothing')
    .addHelpText(
      'after',
      '\nFile format (the API names; `xlb service list -o json` output is accepted too):\n' +
        '  services:\n' +
        '    - id: 10.0.0.10:80/tcp            # or vip/port/protocol; port 0 or "*" = all ports\n' +
        '      flags: { source_hash: false }\n' +
        '      table_size: 16381                # Maglev M; optional (the daemon\'s default)\n' +
        '      backends:\n' +
        '        - 10.1.0.5                      # weight 1\n' +
        '        - { address: 10.1.0.6, weight: 100, name: web-6 }\n' +
        '        - { address: 10.1.0.7, weight: 100, state: draining }\n' +
        examples([
          ['xlb apply -f services.yaml --dry-run', 'what would change'],
          ['xlb apply -f services.yaml', 'converge'],
          ['xlb service list -o json | xlb apply -f -', 'a no-op: everything unchanged'],
        ]),
    )
    .action(
      withContext(io, async (ctx, o: { file: string; dryRun?: boolean }) => {
        const file = await readServicesFile(o.file, () => ctx.io.readStdin());
        let res: ApplyResponse__Output;
        try {
          res = await ctx.client().apply(file.services, { dryRun: o.dryRun === true });
        } catch (err) {
          // The daemon names fields by request path (services[i]...), which is the file's order.
          if (err instanceof XlbApiError && !err.unreachable) throw new CliFailure(file.locate(err.details));
          throw err;
        }
        ctx.print(applyJson(res), () => applyText(res));
      }),
    );
}
