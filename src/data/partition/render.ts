/** A partition's label distribution as a text table and an SVG chart (stacked bars or a heat-map). */
import type { Partition } from './partitioner.js';
import { labelDistribution, labelEntropy, meanClientEntropy } from './stats.js';

/** Options for {@link partitionSummary}. */
export interface SummaryOptions {
  /** At most this many client rows in the text table (default 20). */
  maxRows?: number;
  /** Class names for the legend (default: class indices). */
  classNames?: string[];
  /** SVG style: stacked bars of counts per client (default) or a client × class heat-map of proportions. */
  svgStyle?: 'bars' | 'heatmap';
}

/** Summary of a partition: statistics, a compact text table and an SVG chart of the label distribution. */
export interface PartitionSummary {
  counts: number[][];
  sizes: number[];
  meanEntropy: number;
  text: string;
  svg: string;
}

/** Summarises a partition's label distribution as text and SVG. */
export function partitionSummary(p: Partition, labels: ArrayLike<number>, numClasses: number, opts: SummaryOptions = {}): PartitionSummary {
  const counts = labelDistribution(p, labels, numClasses);
  const sizes = counts.map((r) => r.reduce((a, b) => a + b, 0));
  const entropies = counts.map(labelEntropy);
  const meanEntropy = meanClientEntropy(counts);
  const text = textTable(p, counts, sizes, entropies, meanEntropy, numClasses, labels.length, opts.maxRows ?? 20);
  const svg = (opts.svgStyle ?? 'bars') === 'heatmap' ? svgHeatmap(p, counts, sizes, numClasses, opts) : svgBars(p, counts, sizes, numClasses, opts);
  return { counts, sizes, meanEntropy, text, svg };
}

function paramsLine(p: Partition): string {
  return Object.entries(p.params)
    .filter(([k]) => k !== 'scheme')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

function textTable(
  p: Partition,
  counts: number[][],
  sizes: number[],
  entropies: number[],
  meanEntropy: number,
  numClasses: number,
  n: number,
  maxRows: number,
): string {
  const lines: string[] = [];
  const assigned = sizes.reduce((a, b) => a + b, 0);
  const sorted = [...sizes].sort((a, b) => a - b);
  const median = sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : 0;
  lines.push(`partition ${p.scheme}: ${paramsLine(p)}`);
  lines.push(
    `clients=${counts.length} assigned=${assigned}/${n} size min/median/max=${sorted[0] ?? 0}/${median}/${sorted[sorted.length - 1] ?? 0} ` +
      `mean label entropy=${meanEntropy.toFixed(3)} bits (max ${Math.log2(numClasses).toFixed(3)})`,
  );
  const perClass = numClasses <= 20;
  let w = 4;
  for (const row of counts) for (const v of row) w = Math.max(w, String(v).length);
  const head = ['client', '  size', 'cls', 'top(%)   ', 'H(bits)'];
  if (perClass) for (let c = 0; c < numClasses; c++) head.push(String(c).padStart(w));
  lines.push(head.join(' '));
  const rows = Math.min(counts.length, maxRows);
  for (let i = 0; i < rows; i++) {
    const row = counts[i];
    let top = 0;
    for (let c = 1; c < numClasses; c++) if (row[c] > row[top]) top = c;
    const nz = row.filter((v) => v > 0).length;
    const pct = sizes[i] ? ((100 * row[top]) / sizes[i]).toFixed(0) : '0';
    const cells = [String(i).padStart(6), String(sizes[i]).padStart(6), String(nz).padStart(3), `${top}(${pct}%)`.padEnd(9), entropies[i].toFixed(3).padStart(7)];
    if (perClass) for (const v of row) cells.push(String(v).padStart(w));
    lines.push(cells.join(' '));
  }
  if (counts.length > rows) lines.push(`… ${counts.length - rows} more clients`);
  return lines.join('\n');
}

const PALETTE = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
  '#aec7e8', '#ffbb78', '#98df8a', '#ff9896', '#c5b0d5', '#c49c94', '#f7b6d2', '#c7c7c7', '#dbdb8d', '#9edae5',
];

function classColor(c: number, numClasses: number): string {
  if (numClasses <= PALETTE.length) return PALETTE[c];
  return `hsl(${((c * 137.508) % 360).toFixed(1)},65%,${c % 2 ? 45 : 62}%)`;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A chart's opening lines: the svg element, its tooltip, a white background, the heading and the parameters. */
function svgHead(p: Partition, width: number, height: number, left: number, heading: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${esc(`${p.scheme} ${paramsLine(p)}`)}</title>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${left}" y="16" font-size="13">${esc(`${heading} — ${p.scheme}`)}</text>`,
    `<text x="${left}" y="32" font-size="10" fill="#555">${esc(paramsLine(p))}</text>`,
  ];
}

function svgBars(p: Partition, counts: number[][], sizes: number[], numClasses: number, opts: SummaryOptions): string {
  const nc = counts.length;
  const plotW = Math.max(300, Math.min(1600, nc * 12));
  const plotH = 240;
  const left = 50;
  const top = 44;
  const legendRows = numClasses <= 20 ? Math.ceil(numClasses / 10) : 0;
  const width = left + plotW + 20;
  const height = top + plotH + 40 + legendRows * 18;
  const maxSize = sizes.reduce((a, b) => Math.max(a, b), 1);
  const bw = plotW / Math.max(1, nc);
  const parts = svgHead(p, width, height, left, 'Label distribution per client');
  parts.push(`<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#333"/>`);
  parts.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#333"/>`);
  parts.push(`<text x="${left - 4}" y="${top + 4}" text-anchor="end">${maxSize}</text>`);
  parts.push(`<text x="${left - 4}" y="${top + plotH}" text-anchor="end">0</text>`);
  for (let i = 0; i < nc; i++) {
    let y = top + plotH;
    const x = left + i * bw;
    for (let c = 0; c < numClasses; c++) {
      const v = counts[i][c];
      if (v === 0) continue;
      const h = (v / maxSize) * plotH;
      y -= h;
      parts.push(`<rect x="${x.toFixed(2)}" y="${y.toFixed(2)}" width="${Math.max(0.5, bw * 0.9).toFixed(2)}" height="${h.toFixed(2)}" fill="${classColor(c, numClasses)}"><title>client ${i}, class ${esc(opts.classNames?.[c] ?? String(c))}: ${v}</title></rect>`);
    }
  }
  parts.push(`<text x="${left + plotW / 2}" y="${top + plotH + 16}" text-anchor="middle">client (0…${nc - 1})</text>`);
  for (let c = 0; c < numClasses && legendRows > 0; c++) {
    const lx = left + (c % 10) * 70;
    const ly = top + plotH + 30 + Math.floor(c / 10) * 18;
    parts.push(`<rect x="${lx}" y="${ly}" width="10" height="10" fill="${classColor(c, numClasses)}"/>`);
    parts.push(`<text x="${lx + 14}" y="${ly + 9}">${esc(opts.classNames?.[c] ?? String(c))}</text>`);
  }
  parts.push('</svg>');
  return parts.join('\n');
}

function svgHeatmap(p: Partition, counts: number[][], sizes: number[], numClasses: number, opts: SummaryOptions): string {
  const nc = counts.length;
  const cell = Math.max(2, Math.min(16, Math.floor(1200 / Math.max(nc, numClasses))));
  const left = 50;
  const top = 44;
  const width = Math.max(300, left + nc * cell + 20);
  const height = top + numClasses * cell + 30;
  const parts = svgHead(p, width, height, left, 'Class share per client');
  for (let i = 0; i < nc; i++) {
    for (let c = 0; c < numClasses; c++) {
      const frac = sizes[i] ? counts[i][c] / sizes[i] : 0;
      if (frac === 0) continue;
      const light = (97 - 67 * frac).toFixed(1);
      parts.push(`<rect x="${left + i * cell}" y="${top + c * cell}" width="${cell}" height="${cell}" fill="hsl(215,80%,${light}%)"><title>client ${i}, class ${esc(opts.classNames?.[c] ?? String(c))}: ${counts[i][c]} (${(100 * frac).toFixed(1)}%)</title></rect>`);
    }
  }
  parts.push(`<rect x="${left}" y="${top}" width="${nc * cell}" height="${numClasses * cell}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${left - 4}" y="${top + 9}" text-anchor="end">class 0</text>`);
  parts.push(`<text x="${left - 4}" y="${top + numClasses * cell}" text-anchor="end">${numClasses - 1}</text>`);
  parts.push(`<text x="${left}" y="${top + numClasses * cell + 16}">client 0…${nc - 1}</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}
