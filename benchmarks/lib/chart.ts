// A small horizontal bar chart as SVG text: one panel per metric family, a bar per figure with a
// min–max whisker over the runs, and an optional target line. Plain SVG (no fonts to embed, no
// library), so it renders on GitHub and diffs as text.

export interface ChartBar {
  label: string;
  value: number;
  min?: number;
  max?: number;
  /** Drawn in a muted colour: a floor or reference rather than xlb. */
  reference?: boolean;
  /** This bar's own target, drawn as a short dashed mark across its row. */
  target?: number;
}

export interface ChartPanel {
  title: string;
  unit: string;
  bars: ChartBar[];
  /** A vertical dashed line, e.g. the target, with its label. */
  target?: { value: number; label: string };
}

const WIDTH = 760;
const LABEL_W = 300;
const VALUE_W = 120;
const BAR_H = 18;
const GAP = 6;
const PANEL_HEAD = 40;
const PANEL_GAP = 18;

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function num(v: number): string {
  const text = Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

export function barChartSvg(title: string, subtitle: string, panels: ChartPanel[]): string {
  const plotX = LABEL_W;
  const plotW = WIDTH - LABEL_W - VALUE_W - 10;
  const out: string[] = [];
  let y = 52;
  for (const panel of panels) {
    const top = Math.max(0, ...panel.bars.map((b) => Math.max(b.value, b.max ?? b.value, b.target ?? 0)), panel.target?.value ?? 0);
    const scaleMax = niceMax(top * 1.05);
    const x = (v: number) => plotX + (Math.max(0, v) / scaleMax) * plotW;
    out.push(`<text x="10" y="${y + 16}" class="panel">${escapeXml(panel.title)} (${escapeXml(panel.unit)})</text>`);
    y += PANEL_HEAD;
    const bodyTop = y;
    for (const bar of panel.bars) {
      const cy = y + BAR_H / 2;
      out.push(`<text x="${plotX - 8}" y="${cy + 4}" class="label" text-anchor="end">${escapeXml(bar.label)}</text>`);
      out.push(
        `<rect x="${plotX}" y="${y}" width="${(x(bar.value) - plotX).toFixed(1)}" height="${BAR_H}" class="${bar.reference ? 'ref' : 'bar'}"/>`,
      );
      if (bar.min !== undefined && bar.max !== undefined) {
        out.push(`<line x1="${x(bar.min).toFixed(1)}" x2="${x(bar.max).toFixed(1)}" y1="${cy}" y2="${cy}" class="whisker"/>`);
        for (const v of [bar.min, bar.max]) {
          out.push(`<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${cy - 4}" y2="${cy + 4}" class="whisker"/>`);
        }
      }
      if (bar.target !== undefined) {
        const tx = x(bar.target).toFixed(1);
        out.push(`<line x1="${tx}" x2="${tx}" y1="${y - 3}" y2="${y + BAR_H + 3}" class="target"/>`);
      }
      const targetText = bar.target === undefined ? '' : ` <tspan class="targetlabel">target ${num(bar.target)}</tspan>`;
      out.push(`<text x="${WIDTH - VALUE_W + 4}" y="${cy + 4}" class="value">${num(bar.value)}${targetText}</text>`);
      y += BAR_H + GAP;
    }
    const axisY = y;
    out.push(`<line x1="${plotX}" x2="${plotX}" y1="${bodyTop - 4}" y2="${axisY}" class="axis"/>`);
    for (let i = 0; i <= 4; i++) {
      const v = (scaleMax * i) / 4;
      out.push(`<text x="${x(v).toFixed(1)}" y="${axisY + 12}" class="tick" text-anchor="middle">${num(v)}</text>`);
    }
    if (panel.target) {
      const tx = x(panel.target.value).toFixed(1);
      out.push(`<line x1="${tx}" x2="${tx}" y1="${bodyTop - 6}" y2="${axisY}" class="target"/>`);
      out.push(`<text x="${tx}" y="${bodyTop - 9}" class="targetlabel" text-anchor="middle">${escapeXml(panel.target.label)}</text>`);
    }
    y = axisY + 14 + PANEL_GAP;
  }
  const height = y;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    '<style>',
    '  .title{font-size:16px;font-weight:bold;fill:#222} .sub{font-size:11px;fill:#555}',
    '  .panel{font-size:13px;font-weight:bold;fill:#222} .label{font-size:11px;fill:#333}',
    '  .value{font-size:11px;fill:#222} .tick{font-size:10px;fill:#777}',
    '  .bar{fill:#3b7dd8} .ref{fill:#b9c3cf} .whisker{stroke:#1a1a1a;stroke-width:1}',
    '  .axis{stroke:#999;stroke-width:1} .target{stroke:#d9480f;stroke-width:1.5;stroke-dasharray:4 3}',
    '  .targetlabel{font-size:10px;fill:#d9480f}',
    '</style>',
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="22" class="title">${escapeXml(title)}</text>`,
    `<text x="10" y="40" class="sub">${escapeXml(subtitle)}</text>`,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}
