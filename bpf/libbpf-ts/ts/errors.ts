// Every kernel failure of the binding surfaces as a BpfError (the addon throws this class).
export class BpfError extends Error {
  /** errno name, e.g. 'EACCES', 'ENOENT', 'E2BIG' */
  readonly code: string;
  readonly errno: number;
  /** the kernel verifier's log when a program failed to load */
  readonly verifierLog?: string;

  constructor(message: string, code: string, errno: number, verifierLog?: string) {
    super(message);
    this.name = 'BpfError';
    this.code = code;
    this.errno = errno;
    if (verifierLog !== undefined) this.verifierLog = verifierLog;
  }
}
