// Runs one xlb command line and returns its exit code; every error becomes one "xlb: ..." line.
import { exitReportFor } from './errors.js';
import type { CliIo } from './io.js';
import { buildProgram } from './program.js';

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    const report = exitReportFor(err);
    if (report.message !== undefined) io.err(`xlb: ${report.message.replace(/\s*\n\s*/g, ' ')}\n`);
    return report.code;
  }
}
