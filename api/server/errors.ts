// Every failure leaves a handler as a gRPC status: model validation errors keep their code and
// their "field: problem" message; a datapath/disk failure (already rolled back) is INTERNAL with
// what failed; anything else is INTERNAL too, and logged with its stack, because it is a bug —
// the client gets only a reference to that log line, never the error's text or stack (they may
// carry paths, addresses or internals that are not the client's business).
import { randomBytes } from 'node:crypto';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ValidationError } from '../../lb/model/index.js';
import { ReconcileError } from '../../lb/reconciler/index.js';

export function serviceError(code: status, details: string): Partial<ServiceError> {
  return { code, details, metadata: new Metadata() };
}

export function toServiceError(e: unknown, log?: { error(m: string): void }): Partial<ServiceError> {
  if (e instanceof ValidationError) return serviceError(e.grpcStatus as status, e.message);
  if (e instanceof ReconcileError) {
    log?.error(`datapath change failed: ${e.message}`);
    return serviceError(status.INTERNAL, e.message);
  }
  const ref = randomBytes(4).toString('hex');
  log?.error(`internal error ${ref}: ${(e as Error)?.stack ?? String(e)}`);
  return serviceError(status.INTERNAL, `internal error (reference ${ref} in the xlbd log)`);
}
