// Exit codes and the one-line error of the xlb CLI. Scripts can tell apart "you typed it wrong"
// (2), "the daemon or the kernel said no" (1) and "there is no daemon to ask" (3).
import { CommanderError } from 'commander';
import { ClientConfigError, XlbApiError } from '../client/index.js';

export const EXIT = Object.freeze({
  ok: 0,
  /** The request was refused or the operation failed (server error, invalid file, decap failure). */
  failed: 1,
  /** Bad command line: unknown command or option, missing or malformed argument. */
  usage: 2,
  /** The daemon could not be reached (no socket, refused, TLS handshake). */
  unreachable: 3,
});

/** A command-line mistake found by the CLI itself (exit 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An operation that failed for a reason the CLI found itself (exit 1), e.g. an invalid file. */
export class CliFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliFailure';
  }
}

export interface ExitReport {
  code: number;
  /** The line for stderr, without the "xlb: " prefix; undefined when nothing is to be said. */
  message: string | undefined;
}

/** Maps anything a command threw to its exit code and error line. */
export function exitReportFor(err: unknown): ExitReport {
  if (err instanceof CommanderError) {
    // help and --version end with code 0; commander has already printed them.
    if (err.exitCode === 0) return { code: EXIT.ok, message: undefined };
    // Help printed because a command group was called without a subcommand: usage.
    if (err.code === 'commander.help' || err.code === 'commander.executeSubCommandAsync') return { code: EXIT.usage, message: undefined };
    return { code: EXIT.usage, message: err.message.replace(/^error: /, '') };
  }
  if (err instanceof UsageError || err instanceof ClientConfigError) return { code: EXIT.usage, message: err.message };
  if (err instanceof XlbApiError) {
    if (err.unreachable) return { code: EXIT.unreachable, message: `${err.message} (choose the daemon with --server or XLB_SERVER)` };
    return { code: EXIT.failed, message: err.details || err.message };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: EXIT.failed, message: message.split('\n')[0] || 'failed' };
}
