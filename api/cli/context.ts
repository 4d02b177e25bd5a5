// What every command gets: the global options resolved (server, output format, TLS), a lazily
// connected client, and one way to print (JSON for scripts, text for people).
import type { Command } from 'commander';
import { XlbClient } from '../client/index.js';
import type { CliIo } from './io.js';
import { toJson, type JsonValue } from './render/json.js';

export type OutputFormat = 'table' | 'json';

export interface GlobalOptions {
  server: string;
  output: OutputFormat;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsServerName?: string;
  insecure?: boolean;
  /** Per-call deadline in seconds. */
  timeout: number;
}

export class CliContext {
  readonly io: CliIo;
  readonly options: GlobalOptions;
  #client: XlbClient | undefined;

  constructor(io: CliIo, options: GlobalOptions) {
    this.io = io;
    this.options = options;
  }

  static of(io: CliIo, cmd: Command): CliContext {
    return new CliContext(io, cmd.optsWithGlobals() as GlobalOptions);
  }

  get json(): boolean {
    return this.options.output === 'json';
  }

  /** Connects on first use; a bad --server or TLS setting throws ClientConfigError (exit 2). */
  client(): XlbClient {
    const o = this.options;
    this.#client ??= XlbClient.connect({
      server: o.server,
      insecure: o.insecure === true,
      timeoutMs: Math.round(o.timeout * 1000),
      tls: { ca: o.tlsCa, cert: o.tlsCert, key: o.tlsKey, serverName: o.tlsServerName },
    });
    return this.#client;
  }

  /** Prints `json` with -o json, otherwise the text `table()` returns. */
  print(json: JsonValue, table: () => string): void {
    this.io.out(this.json ? `${toJson(json)}\n` : table());
  }

  close(): void {
    this.#client?.close();
    this.#client = undefined;
  }
}
