// The one error type of the control plane's model. It carries what a gRPC handler needs to answer
// (a status code) and what a person needs to fix the request (the field path and the problem).

/** The gRPC status names the API answers with (see api/proto/xlb/v1/xlb.proto). */
export type ErrorCode = 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'ALREADY_EXISTS' | 'FAILED_PRECONDITION';

/** Numeric gRPC status codes, so the model need not depend on @grpc/grpc-js. */
export const GRPC_STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze({
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  FAILED_PRECONDITION: 9,
});

export class ValidationError extends Error {
  readonly code: ErrorCode;
  /** Path of the offending input in the request's own (proto / YAML) names, e.g.
   *  `service.backends[2].weight`; empty when the whole request is at fault. */
  readonly field: string;
  /** The problem alone, without the field prefix. */
  readonly problem: string;

  constructor(code: ErrorCode, field: string, problem: string) {
    super(field ? `${field}: ${problem}` : problem);
    this.name = 'ValidationError';
    this.code = code;
    this.field = field;
    this.problem = problem;
  }

  get grpcStatus(): number {
    return GRPC_STATUS[this.code];
  }
}

export function invalid(field: string, problem: string): ValidationError {
  return new ValidationError('INVALID_ARGUMENT', field, problem);
}

/** Joins path segments: joinField('service', 'backends[2]') → 'service.backends[2]'. */
export function joinField(prefix: string, name: string): string {
  if (!prefix) return name;
  if (!name) return prefix;
  return name.startsWith('[') ? `${prefix}${name}` : `${prefix}.${name}`;
}

/** Short, safe rendering of an offending value for messages. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}
