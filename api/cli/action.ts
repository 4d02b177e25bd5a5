// Glue between commander and the commands: each action gets a CliContext built from the global
// options, and the client is closed whatever happens.
import type { Command } from 'commander';
import { CliContext } from './context.js';
import type { CliIo } from './io.js';

/** Commander calls actions with (...arguments, options, command); `fn` gets the context first. */
export function withContext<A extends unknown[]>(io: CliIo, fn: (ctx: CliContext, ...args: A) => Promise<void>) {
  return async (...args: unknown[]): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    const ctx = CliContext.of(io, cmd);
    try {
      await fn(ctx, ...(args.slice(0, -1) as A));
    } finally {
      ctx.close();
    }
  };
}

/** "Examples:" help text: each entry is [command, what it does (may be empty)], kubectl-style. */
export function examples(list: readonly (readonly [string, string])[]): string {
  const line = ([c, what]: readonly [string, string]) => (what ? `  # ${what}\n  ${c}` : `  ${c}`);
  return `\nExamples:\n${list.map(line).join('\n')}\n`;
}
