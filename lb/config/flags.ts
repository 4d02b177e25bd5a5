// xlbd's command line. The Command is exported so the daemon's main can add its action, --version
// and help text; parseXlbdArgs is the same parse without side effects (for tests and tools).
import { Command, CommanderError, Option } from 'commander';
import { DEFAULT_CONFIG_PATH } from './defaults.js';
import type { XlbdFlags } from './types.js';

function collectInterfaces(value: string, previous: string[] | undefined): string[] {
  // Repeatable, and comma-separated lists are accepted too: --interface eth0,eth1
  return [...(previous ?? []), ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function xlbdCommand(): Command {
  return new Command('xlbd')
    .description('xlb daemon: owns the XDP load balancer datapath and serves the gRPC API')
    .option('-c, --config <file>', `YAML config file (default ${DEFAULT_CONFIG_PATH}; a missing default file is not an error)`)
    .option('-i, --interface <iface>', 'interface to attach to (repeatable or comma-separated; overrides interfaces:)', collectInterfaces)
    .option('--gateway <ip>', "next-hop router's IP (overrides gateway:)")
    .option('--api <addr>', 'API listen address: unix:///path, or IP:PORT with TLS (overrides api.listen)')
    .option('--metrics <addr>', 'Prometheus /metrics listen address IP:PORT (overrides metrics.listen)')
    .option('--state-dir <dir>', 'directory of the persisted desired state (overrides state_dir)')
    .addOption(new Option('--xdp-mode <mode>', 'XDP attach mode (overrides xdp_mode)').choices(['native', 'generic']))
    .option('--detach-on-exit', 'detach the datapath on SIGTERM (default: leave it running)')
    .option('--instance <name>', 'instance name: pins under /sys/fs/bpf/xlb/<name> (overrides instance)')
    .option(
      '--discard-datapath-state',
      'start even though the pinned datapath holds services and there is no state file: they are removed (one-off; not a config key)',
    )
    .option('--kubeconfig <file>', 'Kubernetes mode: reach the API server with this kubeconfig (overrides kubernetes.kubeconfig)')
    .option('--in-cluster', "Kubernetes mode: use the pod's service account (overrides kubernetes.in_cluster)")
    .option('--load-balancer-class <class>', 'Kubernetes: the spec.loadBalancerClass to implement (default xlb.dev/xlb)')
    .option('--address-pool <cidr>', 'Kubernetes: a VIP prefix of the pool "default" (repeatable; replaces kubernetes.address_pools)', collect)
    .option('--watch-namespace <ns>', 'Kubernetes: watch only this namespace (repeatable; default all)', collect)
    .option('--node-name <name>', 'Kubernetes: this node\'s name for the leader Lease and Events (default $NODE_NAME, else the host name)')
    .addHelpText(
      'after',
      '\nPrecedence: flags > config file > defaults.\n\nExamples:\n' +
        '  xlbd --config /etc/xlb/xlb.yaml\n' +
        '  xlbd --interface eth0 --gateway 192.0.2.1 --xdp-mode generic\n' +
        '  xlbd --instance lab1 --api unix:///run/xlb/lab1.sock --metrics 127.0.0.1:9651 --state-dir /tmp/xlb-lab1\n' +
        '  xlbd --config /etc/xlb/xlb.yaml --in-cluster --address-pool 198.51.100.0/28   # Kubernetes mode\n',
    );
}

/** The flags as XlbdFlags (undefined = not given). */
export function flagsFromOptions(o: Record<string, unknown>): XlbdFlags {
  const flags: XlbdFlags = {};
  if (o.config !== undefined) flags.config = o.config as string;
  if (o.interface !== undefined) flags.interfaces = o.interface as string[];
  if (o.gateway !== undefined) flags.gateway = o.gateway as string;
  if (o.api !== undefined) flags.api = o.api as string;
  if (o.metrics !== undefined) flags.metrics = o.metrics as string;
  if (o.stateDir !== undefined) flags.stateDir = o.stateDir as string;
  if (o.xdpMode !== undefined) flags.xdpMode = o.xdpMode as string;
  if (o.detachOnExit !== undefined) flags.detachOnExit = o.detachOnExit as boolean;
  if (o.instance !== undefined) flags.instance = o.instance as string;
  if (o.discardDatapathState !== undefined) flags.discardDatapathState = o.discardDatapathState as boolean;
  if (o.kubeconfig !== undefined) flags.kubeconfig = o.kubeconfig as string;
  if (o.inCluster !== undefined) flags.inCluster = o.inCluster as boolean;
  if (o.loadBalancerClass !== undefined) flags.loadBalancerClass = o.loadBalancerClass as string;
  if (o.addressPool !== undefined) flags.addressPool = o.addressPool as string[];
  if (o.watchNamespace !== undefined) flags.watchNamespaces = o.watchNamespace as string[];
  if (o.nodeName !== undefined) flags.nodeName = o.nodeName as string;
  return flags;
}

/** Parses xlbd's arguments (without the node and script names). Throws CommanderError on bad usage. */
export function parseXlbdArgs(args: readonly string[]): XlbdFlags {
  const cmd = xlbdCommand()
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {} });
  cmd.parse([...args], { from: 'user' });
  return flagsFromOptions(cmd.opts());
}

export { CommanderError };
