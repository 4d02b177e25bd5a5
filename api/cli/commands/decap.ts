// xlb decap attach|detach|status --dev IFACE: backend-side decapsulation (lb/decap), done by this
// command itself on the local host; no daemon is involved.
import type { Command } from 'commander';
import { examples, withContext } from '../action.js';
import { collect } from '../args.js';
import type { CliIo } from '../io.js';
import { decapAttachJson, decapAttachText, decapDetachJson, decapDetachText, decapStatusJson, decapStatusTable } from '../views/decap.js';

interface DecapOptions {
  dev: string;
  pinDir?: string;
  address?: string[];
  allowSource?: string[];
  allowAnySource?: boolean;
  allowForwardedInner?: boolean;
}

/** --allow-source takes one or more CIDRs, repeatable, commas allowed: --allow-source 10.2.0.0/16,fd00:2::/32 */
function collectCidrs(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

// Loaded on use: it brings the native libbpf addon, which the daemon-facing commands do not need.
const decap = () => import('../../../lb/decap/index.js');

function target(o: DecapOptions) {
  return { ifname: o.dev, ...(o.pinDir !== undefined ? { pinDir: o.pinDir } : {}) };
}

export function registerDecapCommands(program: Command, io: CliIo): void {
  const group = program
    .command('decap')
    .description(
      'on a backend: decapsulate the IPIP/IP6IP6/4in6 packets the load balancer sends (tc ingress BPF program; ' +
        'the VIP goes on lo). Needs root; no daemon.',
    )
    .addHelpText(
      'after',
      '\nThe program and its maps are pinned (default /sys/fs/bpf/xlb/decap/host_<IFACE>), so it keeps\n' +
        'working after the command exits; systemd: `systemctl enable --now xlb-decap@eth0`.\n' +
        examples([
          ['xlb decap attach --dev eth0 --allow-source 192.0.2.10', "decapsulate for eth0's own addresses, tunnels from the LB only"],
          ['xlb decap status --dev eth0', 'attached?, addresses, counters'],
          ['xlb decap detach --dev eth0', 'remove it and its pins'],
        ]),
    );

  const devOption = '--dev <iface>';
  const pinDirOption = ['--pin-dir <dir>', 'bpffs directory of the pins (default /sys/fs/bpf/xlb/decap/host_<IFACE>)'] as const;

  group
    .command('attach')
    .description('attach (or refresh) decapsulation on an interface; idempotent')
    .requiredOption(devOption, 'interface that receives the tunnelled packets')
    .option(...pinDirOption)
    .option('--address <ip>', "outer destination to accept (repeatable); default: the interface's addresses", collect)
    .option(
      '--allow-source <cidr>',
      "outer source to accept tunnels from: the load balancers' encapsulation sources (address or CIDR; repeatable, comma-separated)",
      collectCidrs,
    )
    .option('--allow-any-source', 'accept tunnels from every source (only behind a perimeter that drops IP protocols 4 and 41)')
    .option(
      '--allow-forwarded-inner',
      'also decapsulate inner packets this host would forward (Kubernetes externalTrafficPolicy: Local with kube-proxy ' +
        'in iptables/nftables mode); the source allow-list is then the only guard against relaying',
    )
    .addHelpText(
      'after',
      '\nOne of --allow-source or --allow-any-source is required. Tunnels from other sources, inner packets\n' +
        'that are tunnels themselves and inner packets this host would forward are dropped and counted\n' +
        '(the last unless --allow-forwarded-inner; non-unicast and loopback inner destinations always).\n' +
        examples([
          ['xlb decap attach --dev eth0 --allow-source 192.0.2.10,2001:db8::10', 'the LB node (one address per family)'],
          ['xlb decap attach --dev eth0 --allow-source 192.0.2.64/26', 'a pool of LB nodes, or per-flow source CIDRs'],
          ['xlb decap attach --dev eth0 --allow-source 192.0.2.10 --address 10.3.1.2', 'only this tunnel endpoint'],
          ['xlb decap attach --dev eth0 --allow-source 192.0.2.10 --allow-forwarded-inner', 'a Kubernetes node where kube-proxy DNATs the VIP'],
        ]),
    )
    .action(
      withContext(io, async (ctx, o: DecapOptions) => {
        const { attachDecap } = await decap();
        const r = attachDecap({
          ...target(o),
          ...(o.address ? { addresses: o.address } : {}),
          ...(o.allowSource ? { allowSources: o.allowSource } : {}),
          ...(o.allowAnySource ? { allowAnySource: true } : {}),
          ...(o.allowForwardedInner ? { allowForwardedInner: true } : {}),
        });
        ctx.print(decapAttachJson(r), () => decapAttachText(o.dev, r));
      }),
    );

  group
    .command('detach')
    .description('detach decapsulation from an interface and remove its pins')
    .requiredOption(devOption, 'interface')
    .option(...pinDirOption)
    .addHelpText('after', examples([['xlb decap detach --dev eth0', '']]))
    .action(
      withContext(io, async (ctx, o: DecapOptions) => {
        const { detachDecap } = await decap();
        const r = detachDecap(target(o));
        ctx.print(decapDetachJson(r), () => decapDetachText(o.dev, r));
      }),
    );

  group
    .command('status')
    .description('is decapsulation attached, for which addresses, and its counters')
    .requiredOption(devOption, 'interface')
    .option(...pinDirOption)
    .addHelpText('after', examples([['xlb decap status --dev eth0 -o json', '']]))
    .action(
      withContext(io, async (ctx, o: DecapOptions) => {
        const { decapStatus } = await decap();
        const s = decapStatus(target(o));
        ctx.print(decapStatusJson(s), () => decapStatusTable(s));
      }),
    );
}
