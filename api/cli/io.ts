// Where the CLI writes. main.ts binds it to the process; tests may capture it.
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** stdout is a terminal (the watch mode clears the screen only then). */
  isTTY: boolean;
  env: Readonly<Record<string, string | undefined>>;
  /** Reads standard input to the end (for `apply -f -`). */
  readStdin(): Promise<string>;
}

export function processIo(): CliIo {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    isTTY: process.stdout.isTTY === true,
    env: process.env,
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}
