// How the demo talks to the person watching: numbered steps, commands shown the way a shell would
// show them (`lb1# xlb service list`) followed by their output, request-share bars, and the final
// OK / PROBLEM lines. Colours only on a terminal, so a captured log stays plain text.
const tty = process.stdout.isTTY === true;
const style = (code: string) => (s: string) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
export const bold = style('1');
export const dim = style('2');
const prompt = style('1;36');

export const out = (s = ''): void => {
  process.stdout.write(`${s}\n`);
};
export const pad = (s: string | number, n: number): string => String(s).padEnd(n);
export const rpad = (s: string | number, n: number): string => String(s).padStart(n);
const INDENT = '   ';

/** Prints "[n/total] title", numbering the steps as they come; the last step is always n = total. */
export function stepHeadings(total: number): (title: string, o?: { last?: boolean }) => void {
  let n = 0;
  return (title, o = {}) => {
    n = o.last ? total : n + 1;
    out();
    out(bold(`[${n}/${total}] ${title}`));
  };
}

/** Indented lines of a command's output (or any block of text). */
export function block(text: string, indent = INDENT): void {
  for (const line of text.replace(/\n+$/, '').split('\n')) out(`${indent}${line}`.trimEnd());
}

export function note(text: string): void {
  out(dim(`${INDENT}${text}`));
}

/** An argument as a person would type it into a shell: quoted only when the shell needs it. */
export function shellWord(arg: string): string {
  if (/^[A-Za-z0-9_\-.,:/=@%+]+$/.test(arg)) return arg;
  if (!/["$`\\!]/.test(arg)) return `"${arg}"`;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** "lb1# xlb service list": the node the command runs on, as a root prompt. */
export function showCommand(node: string, words: string[] | string): void {
  const line = typeof words === 'string' ? words : words.map(shellWord).join(' ');
  out(`${INDENT}${prompt(`${node}#`)} ${line}`);
}

/** One bar per backend: its share of `total` answered requests. */
export function shareBars(perBackend: Record<string, number>, names: string[], total: number, note = (_name: string) => ''): void {
  for (const name of names) {
    const n = perBackend[name] ?? 0;
    const share = total ? n / total : 0;
    const bar = '#'.repeat(Math.round(share * 40)).padEnd(40, '.');
    out(`${INDENT}  ${pad(name, 4)}${bar} ${rpad(n, 5)}  ${rpad((100 * share).toFixed(1), 5)}%${note(name)}`);
  }
}

export interface Check {
  ok: boolean;
  text: string;
}

/** The final verdict lines; returns whether all were OK. */
export function printChecks(checks: Check[]): boolean {
  out();
  for (const c of checks) out(bold(`${c.ok ? 'OK     ' : 'PROBLEM'}  ${c.text}`));
  return checks.length > 0 && checks.every((c) => c.ok);
}
