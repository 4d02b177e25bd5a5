#!/usr/bin/env node
// xlb: the command-line client of xlbd (docs/cli.md).
import { processIo } from './io.js';
import { runCli } from './run.js';

// Errors are one line on stderr. Node's deprecation notices (grpc-js sets an IP literal as the TLS
// server name, DEP0123) are for developers, not for the person running the command.
process.noDeprecation = true;

// `xlb ... | head`: a reader that goes away is not an error of ours. Commands that stream (record)
// add their own listener to finish cleanly; everything else just stops writing.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  if (process.stdout.listenerCount('error') === 1) process.exit(process.exitCode ?? 0);
});

process.exitCode = await runCli(process.argv.slice(2), processIo());
