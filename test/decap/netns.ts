// A network namespace for running the decap program with BPF_PROG_TEST_RUN: the program asks the
// routing table (bpf_fib_lookup) whether an inner destination is local, so the answer must come
// from a table the test controls, not from the host's. lo is up and holds the "local" addresses;
// a default route (via lo) makes every other unicast destination one the host would forward.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const run = (...argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { stdio: 'pipe' });

export class DecapNetns {
  private constructor(readonly name: string) {}

  get path(): string {
    return `/run/netns/${this.name}`;
  }

  static create(o: { local: string[]; forwarding?: boolean }): DecapNetns {
    const ns = new DecapNetns(`xdecap-${process.pid}-${randomBytes(3).toString('hex')}`);
    run('ip', 'netns', 'add', ns.name);
    try {
      run('ip', '-n', ns.name, 'link', 'set', 'lo', 'up');
      for (const a of o.local) {
        run('ip', '-n', ns.name, 'addr', 'add', a.includes(':') ? `${a}/128` : `${a}/32`, 'dev', 'lo', ...(a.includes(':') ? ['nodad'] : []));
      }
      run('ip', '-n', ns.name, 'route', 'add', 'default', 'dev', 'lo');
      run('ip', '-n', ns.name, '-6', 'route', 'add', 'default', 'dev', 'lo');
      ns.forwarding(o.forwarding ?? true);
    } catch (e) {
      ns.destroy();
      throw e;
    }
    return ns;
  }

  /** net.ipv4.ip_forward and net.ipv6.conf.all.forwarding (they set every interface's flag). */
  forwarding(on: boolean): void {
    const v = on ? '1' : '0';
    run('ip', 'netns', 'exec', this.name, 'sysctl', '-q', '-w', `net.ipv4.ip_forward=${v}`, `net.ipv6.conf.all.forwarding=${v}`);
  }

  destroy(): void {
    try {
      run('ip', 'netns', 'del', this.name);
    } catch {
      // already gone
    }
  }
}
