#!/usr/bin/env node
// xlb: the command-line client of xlbd (docs/cli.md).
import { processIo } from './io.js';
import { runCli } from './run.js';

// Errors are one line on stderr. Node's deprecation notices (grpc-js sets an IP literal as the TLS
// server name, DEP0123) are for developers, not for the person running the command.
process.noDeprecation = true;

process.exitCode = await runCli(process.argv.slice(2), processIo());
