#!/usr/bin/env node
// xlbd: the xlb daemon. Parses the command line (lb/config's xlbdCommand), loads the config,
// starts the Daemon and maps signals onto its lifecycle:
//   SIGHUP          reload the config file (services layer, gateway, outer sources)
//   SIGTERM/SIGINT  stop the API (and metrics); the datapath keeps running unless --detach-on-exit
// Environment: XLBD_BPF_OBJECT=path loads that compiled datapath instead of build/bpf/xlb_lb.o
// (packaging, or pinning one build for a test); XLBD_LOG_LEVEL=debug|info|warn|error.
// Exit codes: 0 after a clean stop, 1 when the start failed, 2 for a usage or config error.
import { ConfigError, loadConfig, xlbdCommand, flagsFromOptions, type XlbdFlags } from '../config/index.js';
import { ValidationError } from '../model/index.js';
import { installCrashGuard } from './crash-guard.js';
import { Daemon } from './daemon.js';
import { createLogger } from './log.js';
import { XLB_VERSION } from '../version.js';

async function run(flags: XlbdFlags): Promise<void> {
  const log = createLogger();
  let daemon: Daemon | undefined;
  // From here on an error nobody caught is logged, counted, and survived (crash-guard.ts).
  installCrashGuard(log, (origin) => daemon?.emit('internalError', { origin }));
  let config;
  try {
    config = await loadConfig(flags);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof ValidationError) {
      process.stderr.write(`xlbd: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const d = new Daemon(config, {
    log,
    reloadConfig: () => loadConfig(flags),
    objectPath: process.env.XLBD_BPF_OBJECT || undefined,
  });
  daemon = d;

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: stopping`);
    d.stop().then(
      () => process.exit(0),
      (e: Error) => {
        log.error(`stop failed: ${e.message}`);
        process.exit(1);
      },
    );
  };
  // Signals that arrive while starting are held until the start finished (or failed).
  let started = false;
  const pending: string[] = [];
  const onSignal = (signal: string) => (started ? handle(signal) : pending.push(signal));
  const handle = (signal: string) => {
    if (signal === 'SIGHUP') void d.reload();
    else stop(signal);
  };
  for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(s, () => onSignal(s));

  try {
    await d.start();
  } catch (e) {
    log.error(`start failed: ${(e as Error).message}`);
    process.exit(1);
  }
  started = true;
  for (const s of pending) handle(s);
}

const program = xlbdCommand()
  .version(XLB_VERSION, '-V, --version', 'print the version and exit')
  .showHelpAfterError()
  .action(async (options: Record<string, unknown>) => {
    await run(flagsFromOptions(options));
  });

program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`xlbd: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
