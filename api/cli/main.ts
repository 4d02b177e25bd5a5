#!/usr/bin/env node
// xlb: the command-line client of xlbd (docs/cli.md).
import { processIo } from './io.js';
import { runCli } from './run.js';

process.exitCode = await runCli(process.argv.slice(2), processIo());
