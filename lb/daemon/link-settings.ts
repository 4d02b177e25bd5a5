// lb_config from what the kernel says about the interface and the gateway, plus the configured
// outer sources. An unresolved gateway keeps the MAC the datapath already has (a neighbour entry
// that failed once must not black-hole traffic that still flows); without any MAC there is no
// config to write yet.
import type { EncapSource, XlbdConfig } from '../config/index.js';
import type { DatapathConfig } from '../datapath/index.js';
import { usableMac, type NextHopFacts } from '../gateway/index.js';

/** The interface's first usable global address of a family (outer source, default BGP next hop). */
export function interfaceSource(facts: NextHopFacts, family: 4 | 6): string | undefined {
  return facts.interface?.addresses.find((a) => a.family === family && a.scope === 0 && !a.tentative)?.address;
}

function configured(src: EncapSource | undefined): { fixed?: string; cidr?: string } {
  if (!src) return {};
  const host = src.family === 4 ? 32 : 128;
  return src.prefixLength === host ? { fixed: src.address } : { cidr: `${src.address}/${src.prefixLength}` };
}

export function datapathSettings(
  facts: NextHopFacts,
  encap: XlbdConfig['encap'],
  previous: DatapathConfig | undefined,
): DatapathConfig | undefined {
  const gatewayMac = usableMac(facts) ?? previous?.gatewayMac;
  const ifMac = facts.interface?.mac ?? previous?.ifMac;
  if (!gatewayMac || !ifMac) return undefined;
  const out: DatapathConfig = { ifMac, gatewayMac };
  const v4 = configured(encap.v4);
  const v6 = configured(encap.v6);
  const v4Fixed = v4.fixed ?? (v4.cidr ? undefined : interfaceSource(facts, 4));
  const v6Fixed = v6.fixed ?? (v6.cidr ? undefined : interfaceSource(facts, 6));
  if (v4Fixed) out.sourceV4 = v4Fixed;
  if (v4.cidr) out.sourceCidrV4 = v4.cidr;
  if (v6Fixed) out.sourceV6 = v6Fixed;
  if (v6.cidr) out.sourceCidrV6 = v6.cidr;
  return out;
}

export function sameSettings(a: DatapathConfig | undefined, b: DatapathConfig | undefined): boolean {
  const keys = ['ifMac', 'gatewayMac', 'sourceV4', 'sourceV6', 'sourceCidrV4', 'sourceCidrV6'] as const;
  if (!a || !b) return a === b;
  return keys.every((k) => a[k] === b[k]);
}
