// Every failure leaves a handler as a gRPC status: model validation errors keep their code and
// their "field: problem" message; a datapath/disk failure (already rolled back) is INTERNAL with
// what failed; anything else is INTERNAL too, and logged, because it is a bug.
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
  log?.error(`internal error: ${(e as Error)?.stack ?? String(e)}`);
  return serviceError(status.INTERNAL, `internal error: ${(e as Error)?.message ?? String(e)}`);
}
