// The xlb command tree: global options, then one file per command group.
import { Command, Option } from 'commander';
import { XLB_VERSION } from '../../lb/version.js';
import { DEFAULT_SERVER, SERVER_ENV } from '../client/index.js';
import { examples } from './action.js';
import { secondsParser } from './args.js';
import { registerApplyCommand } from './commands/apply.js';
import { registerBackendCommands } from './commands/backend.js';
import { registerDecapCommands } from './commands/decap.js';
import { registerDrainCommand } from './commands/drain.js';
import { registerRecordCommand } from './commands/record.js';
import { registerServiceCommands } from './commands/service.js';
import { registerStatsCommand } from './commands/stats.js';
import { registerStatusCommand } from './commands/status.js';
import type { CliIo } from './io.js';

export function buildProgram(io: CliIo): Command {
  const program = new Command('xlb');
  program
    .description('control the xlb XDP load balancer (xlbd) and backend decapsulation')
    .version(XLB_VERSION, '-V, --version')
    .addOption(
      new Option('-s, --server <addr>', 'xlbd API address: unix:///path, HOST:PORT or [IPv6]:PORT').env(SERVER_ENV).default(DEFAULT_SERVER),
    )
    .addOption(new Option('-o, --output <format>', 'table for people, json for scripts').choices(['table', 'json']).default('table'))
    .option('--tls-ca <file>', "TCP: CA certificate (PEM) that signed the daemon's certificate (default: system roots)")
    .option('--tls-cert <file>', 'TCP: client certificate (PEM); the daemon requires one')
    .option('--tls-key <file>', 'TCP: client private key (PEM)')
    .option('--tls-server-name <name>', "TCP: name to check the daemon's certificate against (default: the address)")
    .option('--insecure', 'TCP: plaintext, only to a loopback daemon started with api.insecure')
    .addOption(new Option('--timeout <seconds>', 'deadline of each API call').argParser(secondsParser(0.1)).default(30))
    // Usage errors become one "xlb: ..." line printed by main; commander must not print or exit.
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      outputError: () => {},
    })
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      'after',
      `\nThe server defaults to ${DEFAULT_SERVER}; ${SERVER_ENV} overrides it, --server overrides both.\n` +
        'Exit codes: 0 ok, 1 refused or failed (the message names the field), 2 bad command line, 3 daemon unreachable.\n' +
        examples([
          ['xlb status', 'what the daemon drives'],
          ['xlb service add 10.0.0.10:80/tcp -b 10.1.0.5 -b 10.1.0.6', 'a service with two backends'],
          ['xlb service list', 'ipvsadm-like tree with counters'],
          ['xlb backend set 10.0.0.10:80/tcp 10.1.0.6 --drain', 'drain a backend'],
          ['xlb service set 10.0.0.10:80/tcp --check http:/healthz', 'health-check its backends'],
          ['xlb drain-node', 'withdraw this node\'s BGP announcements'],
          ['xlb apply -f services.yaml --dry-run', 'what converging to a file would change'],
          ['xlb stats --watch', 'live rates'],
          ['xlb --server 192.0.2.1:9640 --tls-ca ca.pem --tls-cert me.pem --tls-key me.key status', 'a remote daemon over mTLS'],
          ['xlb decap attach --dev eth0', 'on a backend'],
        ]),
    );

  // Subcommands created with .command() inherit exitOverride and the output configuration.
  registerServiceCommands(program, io);
  registerBackendCommands(program, io);
  registerApplyCommand(program, io);
  registerStatsCommand(program, io);
  registerStatusCommand(program, io);
  registerDrainCommand(program, io);
  registerDecapCommands(program, io);
  registerRecordCommand(program, io);
  return program;
}
