/**
 * Every rejected input raises this. `field` names the offending input the way a caller wrote it,
 * e.g. "size", "seed", "backends", "backends[3].weight", so a control-plane API can point at it.
 */
export class MaglevError extends Error {
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'MaglevError';
    this.field = field;
  }
}
