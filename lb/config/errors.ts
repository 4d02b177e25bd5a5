// Every configuration problem names where the bad value came from: the YAML path (with file,
// line and column) or the command-line flag, so the operator edits the right place.

export class ConfigError extends Error {
  /** YAML path (e.g. "api.tls.cert", "services[2].backends[0].weight") or flag ("--gateway"). */
  readonly path: string;
  /** The problem alone. */
  readonly problem: string;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(path: string, problem: string, where: { file?: string; line?: number; column?: number } = {}) {
    const location = where.file ? `${where.file}${where.line ? `:${where.line}:${where.column ?? 1}` : ''}: ` : '';
    super(`${location}${path ? `${path}: ` : ''}${problem}`);
    this.name = 'ConfigError';
    this.path = path;
    this.problem = problem;
    this.file = where.file;
    this.line = where.line;
    this.column = where.column;
  }
}
