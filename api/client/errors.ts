// A failed call, classified for the caller: the daemon answered with an error (its message names
// the offending field), or the daemon could not be reached at all.
import { status as Status, type ServiceError } from '@grpc/grpc-js';

export class XlbApiError extends Error {
  /** gRPC status code, e.g. 3 (INVALID_ARGUMENT). */
  readonly code: number;
  /** Its name, e.g. "INVALID_ARGUMENT". */
  readonly codeName: string;
  /** The server's message as sent (for validation errors: `FIELD: problem`). */
  readonly details: string;
  /** The RPC, e.g. "CreateService". */
  readonly method: string;
  /** The daemon's address, e.g. unix:///run/xlb/xlb.sock. */
  readonly server: string;
  /** True when no connection could be made (no daemon, wrong socket, refused, TLS handshake). */
  readonly unreachable: boolean;

  /** `tls`: the connection used TLS (a failure to connect may then be a refused certificate). */
  constructor(err: ServiceError, method: string, server: string, o: { tls?: boolean } = {}) {
    const unreachable = isUnreachable(err);
    const details = err.details ?? err.message;
    super(unreachable ? unreachableMessage(server, details, o.tls === true) : details || `${Status[err.code] ?? err.code} from ${method}`);
    this.name = 'XlbApiError';
    this.code = err.code;
    this.codeName = Status[err.code] ?? String(err.code);
    this.details = details;
    this.method = method;
    this.server = server;
    this.unreachable = unreachable;
  }
}

// grpc-js reports a failed connection as UNAVAILABLE "No connection established. Last error: ...";
// a daemon that answers UNAVAILABLE itself says something else, and stays a server error.
function isUnreachable(err: ServiceError): boolean {
  return err.code === Status.UNAVAILABLE && /No connection established|Failed to connect|Connection dropped/i.test(err.details ?? '');
}

/** "cannot reach xlbd at unix:///run/xlb/xlb.sock (connect ENOENT /run/xlb/xlb.sock): no such socket; is xlbd running?" */
function unreachableMessage(server: string, details: string, tls: boolean): string {
  const last = (/Last error: (?:Error: )?(.*?)(?:\.\s*Resolution note:.*)?$/s.exec(details)?.[1]?.trim() || details)
    // grpc-js stamps some reasons with the time: "Failed to connect (2026-01-01T10:00:00.000Z)"
    .replace(/\s*\(\d{4}-\d\d-\d\dT[0-9:.]+Z\)/g, '');
  let hint = '';
  if (/ENOENT/.test(last)) hint = ': no such socket; is xlbd running?';
  else if (/EACCES|EPERM/.test(last)) hint = ": permission denied; run as root or as a member of the socket's group";
  else if (/ECONNREFUSED/.test(last)) hint = ': nothing is listening there; is xlbd running?';
  else if (tls || /certificate|handshake|SSL|TLS/i.test(last)) hint = ': the TLS handshake failed; check the CA, client certificate and key';
  return `cannot reach xlbd at ${server} (${last})${hint}`;
}
