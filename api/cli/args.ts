// Parsers for option values. They check only what the command line itself must get right (a
// number is a number); the daemon judges the values (ranges, addresses) and names the field.
import { InvalidArgumentError } from 'commander';

const UINT32_MAX = 0xffffffff;

/** A weight as the wire can carry it (uint32); the daemon enforces 0..65535 and says so. */
export function parseWeight(text: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) > UINT32_MAX) {
    throw new InvalidArgumentError('must be a whole number 0..65535 (0 = draining).');
  }
  return Number(text);
}

/** Seconds, fractions allowed, at least `min`. */
export function secondsParser(min: number) {
  return (text: string): number => {
    const v = Number(text);
    if (!/^[0-9]*\.?[0-9]+$/.test(text) || !Number.isFinite(v) || v < min) {
      throw new InvalidArgumentError(`must be a number of seconds >= ${min}.`);
    }
    return v;
  };
}

/** A Maglev table size as the wire carries it (uint32); the daemon names the allowed primes. */
export function parseTableSize(text: string): number {
  if (!/^[1-9][0-9]*$/.test(text) || Number(text) > UINT32_MAX) {
    throw new InvalidArgumentError('must be a whole number: one of the allowed primes 251 … 131071 (see `xlb service add --help`).');
  }
  return Number(text);
}

export function parsePositiveInt(text: string): number {
  if (!/^[1-9][0-9]*$/.test(text) || !Number.isSafeInteger(Number(text))) throw new InvalidArgumentError('must be a whole number >= 1.');
  return Number(text);
}

/** Repeatable option: collects values into a list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export interface BackendArg {
  address: string;
  weight?: number;
}

/** `--backend ADDRESS[=WEIGHT]`, repeatable ("=": IPv6 addresses are full of colons). */
export function collectBackend(value: string, previous: BackendArg[] | undefined): BackendArg[] {
  const eq = value.lastIndexOf('=');
  const address = eq < 0 ? value : value.slice(0, eq);
  if (address === '') throw new InvalidArgumentError('expected ADDRESS or ADDRESS=WEIGHT, e.g. 10.1.0.5=100.');
  const entry: BackendArg = { address };
  if (eq >= 0) entry.weight = parseWeight(value.slice(eq + 1));
  return [...(previous ?? []), entry];
}
