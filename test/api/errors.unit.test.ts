// What an API client learns from a failure: a rejected request names the field and the problem, a
// datapath or disk failure says what failed, and a bug (any other exception) gives only a
// reference into the daemon's log, where the stack is; never the error's own text or stack.
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { toServiceError } from '../../api/server/index.js';
import { invalid } from '../../lb/model/index.js';
import { ReconcileError } from '../../lb/reconciler/index.js';

describe('toServiceError', () => {
  it('keeps validation errors as they are', () => {
    expect(toServiceError(invalid('service.vip', 'is not an address'))).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'service.vip: is not an address' });
  });

  it('says what failed in the datapath or on disk', () => {
    const logged: string[] = [];
    const e = toServiceError(new ReconcileError('the change was not applied: map update: ENOMEM', true), { error: (m) => logged.push(m) });
    expect(e).toMatchObject({ code: status.INTERNAL, details: 'the change was not applied: map update: ENOMEM' });
    expect(logged).toHaveLength(1);
  });

  it('a bug: the client gets a reference, the log gets the stack', () => {
    const logged: string[] = [];
    const bug = new TypeError("Cannot read properties of undefined (reading 'x') at /usr/local/lib/xlb/dist/lb/secret.js");
    const e = toServiceError(bug, { error: (m) => logged.push(m) });
    expect(e.code).toBe(status.INTERNAL);
    expect(e.details).toMatch(/^internal error \(reference [0-9a-f]{8} in the xlbd log\)$/);
    expect(e.details).not.toMatch(/secret|undefined|at /);
    const ref = /reference ([0-9a-f]{8})/.exec(e.details!)![1]!;
    expect(logged[0]).toContain(`internal error ${ref}: TypeError: Cannot read properties`);
    expect(logged[0]).toMatch(/\n\s+at /);
  });
});
