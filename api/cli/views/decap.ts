// `xlb decap ...`: results of lb/decap, printed without a daemon.
import type { DecapAttachResult, DecapDetachResult, DecapStatus } from '../../../lb/decap/index.js';
import type { JsonValue } from '../render/json.js';
import { renderPairs, renderTable } from '../render/table.js';
import { count, snake } from './common.js';

export function decapStatusJson(s: DecapStatus): JsonValue {
  const counters: Record<string, JsonValue> = {};
  for (const [name, c] of Object.entries(s.counters)) counters[snake(name)] = { packets: c.packets, bytes: c.bytes };
  return {
    ifname: s.ifname,
    ifindex: s.ifindex,
    pin_dir: s.pinDir,
    attached: s.attached,
    pinned: s.pinned,
    prog_id: s.progId ?? null,
    attached_prog_id: s.attachedProgId ?? null,
    addresses: s.addresses,
    allowed_sources: s.allowedSources,
    allow_forwarded_inner: s.allowForwardedInner ?? null,
    counters,
  };
}

export function decapStatusTable(s: DecapStatus): string {
  let attached = s.attached ? `yes, program ${s.attachedProgId}` : 'no';
  if (!s.attached && s.attachedProgId !== undefined) attached += ` (another program, id ${s.attachedProgId}, holds the decap slot)`;
  let text = renderPairs([
    ['interface', `${s.ifname} (ifindex ${s.ifindex})`],
    ['attached', attached],
    ['pinned', s.pinned ? `yes, program ${s.progId} in ${s.pinDir}` : `no (${s.pinDir})`],
    ['addresses', s.addresses.length ? s.addresses.join(' ') : '-'],
    ['allowed sources', sourcesText(s.allowedSources)],
    ['forwarded inner', forwardedInnerText(s.allowForwardedInner)],
  ]);
  const rows = [['COUNTER', 'PACKETS', 'BYTES']];
  for (const [name, c] of Object.entries(s.counters)) rows.push([snake(name), count(c.packets), count(c.bytes)]);
  text += '\n' + renderTable(rows, [{}, { align: 'right' }, { align: 'right' }]);
  return text;
}

function sourcesText(sources: string[]): string {
  if (sources.length === 0) return 'none (every tunnel packet is dropped)';
  if (sources.includes('0.0.0.0/0') && sources.includes('::/0')) return 'any (--allow-any-source)';
  return sources.join(' ');
}

function forwardedInnerText(allowed: boolean | undefined): string {
  if (allowed === undefined) return 'unknown (pinned by another xlb version; attach again to reload)';
  return allowed ? 'accepted (--allow-forwarded-inner)' : 'dropped (inner_not_local)';
}

export function decapAttachJson(r: DecapAttachResult): JsonValue {
  return {
    ifindex: r.ifindex, prog_id: r.progId, pin_dir: r.pinDir, addresses: r.addresses, allowed_sources: r.allowedSources,
    allow_forwarded_inner: r.allowForwardedInner, reused: r.reused,
  };
}

export function decapAttachText(dev: string, r: DecapAttachResult): string {
  const what = r.reused ? `decap already attached to ${dev} (program ${r.progId}); address and source lists refreshed` : `decap attached to ${dev} (program ${r.progId})`;
  const forwarded = r.allowForwardedInner ? 'inner packets this host forwards are accepted (--allow-forwarded-inner)\n' : '';
  return `${what}\npinned in ${r.pinDir}\ndecapsulating for ${r.addresses.join(' ')}\nfrom ${sourcesText(r.allowedSources)}\n${forwarded}`;
}

export function decapDetachJson(r: DecapDetachResult): JsonValue {
  return { pin_dir: r.pinDir, detached: r.detached, unpinned: r.unpinned, interface_missing: r.interfaceMissing };
}

export function decapDetachText(dev: string, r: DecapDetachResult): string {
  if (!r.detached && !r.unpinned) return `decap was not attached to ${dev}; nothing to do\n`;
  const parts: string[] = [];
  if (r.detached) parts.push(`decap detached from ${dev}`);
  if (r.interfaceMissing) parts.push(`${dev} no longer exists`);
  if (r.unpinned) parts.push(`pins removed from ${r.pinDir}`);
  return `${parts.join('; ')}\n`;
}
